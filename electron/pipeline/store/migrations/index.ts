// The pipeline's schema migrations, numbered from 100 (the foundation owns
// 1-99). electron/db lists them after the foundation's.
import type { Migration } from '../../../store/migrations';
import { migration100 } from './100-pipeline';
import { migration130 } from './130-generation-tokens';
import { migration140 } from './140-pair-review';
import { migration150 } from './150-training';
import { migration160 } from './160-evaluation';
import { migration170 } from './170-review-undo';

export const PIPELINE_MIGRATIONS: readonly Migration[] = [
  migration100,
  migration130,
  migration140,
  migration150,
  migration160,
  migration170,
];
