// The one thing to do next on the Dataset page, from the pipeline's counts:
// import data, then augment it, then answer, select and review; with a link
// to the page where it happens.
import { Link } from 'react-router';
import type { PipelineOverview } from '../../../shared/pipeline/commands';
import { formatCount } from '../lib/format';

export function nextStep(o: PipelineOverview): { text: string; to: string; link: string } | null {
  if (o.samples === 0) return null;
  if (o.augmented.total === 0)
    return {
      text: `${formatCount(o.samples)} samples imported. Next step: build multi-image questions from them.`,
      to: '/pipeline',
      link: 'Augment on the Pipeline page',
    };
  if (o.generations < o.augmented.total)
    return {
      text: `${formatCount(o.augmented.total - o.generations)} augmented samples are not answered yet. Next step: let the model answer them.`,
      to: '/pipeline',
      link: 'Respond on the Pipeline page',
    };
  if (o.decisions.undecided > 0)
    return {
      text: 'Every augmented sample is answered. Next step: select the pairs to learn from.',
      to: '/pipeline',
      link: 'Select on the Pipeline page',
    };
  if (o.pairs.pending > 0)
    return {
      text: `${formatCount(o.pairs.pending)} pairs wait for review.`,
      to: '/pairs',
      link: 'Review them',
    };
  return null;
}

export function NextStep({ overview }: { overview: PipelineOverview }) {
  const step = nextStep(overview);
  if (step === null) return null;
  return (
    <p className="next-step" aria-label="Next step">
      {step.text} <Link to={step.to}>{step.link}</Link>
    </p>
  );
}
