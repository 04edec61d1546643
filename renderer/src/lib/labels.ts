// Names the UI gives to the pipeline's values (formats, export formats), in one place.
import type { Format } from '../../../shared/pipeline/formats';

export const FORMAT_LABELS: Record<Format, string> = { sequence: 'Sequence', grid: 'Grid collage', pip: 'Pic-in-pic' };
