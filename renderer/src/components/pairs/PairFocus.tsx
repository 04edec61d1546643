// The review focus view of one pair: its images with the attention heatmap
// of the captured layer over each (the target image marked), the prompt, the
// chosen and rejected answers side by side with a word diff, the attention
// ratio against its threshold, perplexity and the other metrics, the reasons
// of the stored decision and the pair's history. Presentational: the page
// owns the data and the actions.
import { useState } from 'react';
import type { Response } from '../../../../shared/api';
import type { PairView } from '../../../../shared/pipeline/commands';
import { pairImageUrl } from '../../../../shared/pipeline/image-route';
import { useApi } from '../../api-context';
import { wordDiff } from '../../lib/word-diff';
import { AttentionImage, HeatmapLegend } from './AttentionImage';

export type PairDetail = Response<'pipeline.pairs.get'>;
export interface Threshold {
  op: '<' | '<=';
  value: number;
}

const FORMAT_NAMES = { sequence: 'Sequence', grid: 'Grid collage', pip: 'Picture in picture' } as const;

function num(v: number | null, digits = 3): string {
  return v === null ? '–' : Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

function Diff({ chosen, rejected }: { chosen: string; rejected: string }) {
  const parts = wordDiff(rejected, chosen);
  return (
    <div className="answers">
      <section aria-label="Chosen answer" className="answer answer-chosen">
        <h3>Chosen (preferred)</h3>
        <p>
          {parts
            .filter((p) => p.op !== 'del')
            .map((p, i) => (p.op === 'add' ? <ins key={i}>{p.text}</ins> : <span key={i}>{p.text}</span>))}
        </p>
      </section>
      <section aria-label="Rejected answer" className="answer answer-rejected">
        <h3>Rejected (model's answer)</h3>
        <p>
          {parts
            .filter((p) => p.op !== 'add')
            .map((p, i) => (p.op === 'del' ? <del key={i}>{p.text}</del> : <span key={i}>{p.old ?? p.text}</span>))}
        </p>
      </section>
    </div>
  );
}

/** The ratio against its threshold as a sentence: kept pairs are the ones where the model looked elsewhere. */
export function ratioSentence(ratio: number | null, t: Threshold | null): string {
  if (ratio === null) return 'No attention ratio was recorded.';
  if (t === null) return `Attention ratio ${num(ratio)}; no threshold is set for this format and image count.`;
  const passes = t.op === '<' ? ratio < t.value : ratio <= t.value;
  return `Attention ratio ${num(ratio)} ${passes ? t.op : t.op === '<' ? '≥' : '>'} threshold ${num(t.value)}: ${
    passes ? 'the model looked away from the target image (kept by attention)' : 'the model looked at the target image'
  }.`;
}

export function PairFocus({
  detail,
  threshold,
  position,
}: {
  detail: PairDetail;
  threshold: Threshold | null;
  /** e.g. "3 of 120". */
  position: string;
}) {
  const client = useApi();
  const [opacity, setOpacity] = useState(0.55);
  const [showSeen, setShowSeen] = useState(false);
  const { pair, attention, seen, history } = detail;
  const maps = attention.side === null ? [] : attention.maps;
  const max = Math.max(0, ...maps.flat());
  const sources = showSeen && seen.length > 0 ? seen : pair.images;
  const fit = pair.preprocess === 'crop' ? 'cover' : 'contain';
  return (
    <article className="pair-focus" aria-label={`Pair ${pair.id}`}>
      <header className="pair-head">
        <h2>
          Pair {pair.id} <span className="muted">· {position}</span>
        </h2>
        <span className="muted">
          {FORMAT_NAMES[pair.format]}, {pair.image_count} images · target Image{pair.target_index}
        </span>
        <span className={`chip chip-${pair.decision ?? 'undecided'}`}>
          {pair.decision === null ? 'undecided' : pair.decision === 'keep' ? 'kept' : 'dropped'}
        </span>
        <span className={`chip chip-review-${pair.review}`} data-testid="review-state">
          {pair.review}
        </span>
      </header>

      <div className="attn-controls">
        <label>
          Heatmap opacity
          <input
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={opacity}
            onChange={(e) => setOpacity(Number(e.target.value))}
          />
        </label>
        {seen.length > 0 && (
          <label className="check">
            <input type="checkbox" checked={showSeen} onChange={(e) => setShowSeen(e.target.checked)} />
            Show the images as the model saw them (with noise)
          </label>
        )}
        {maps.length > 0 ? <HeatmapLegend max={max} /> : <span className="muted">No attention map was recorded.</span>}
      </div>

      <div className={`pair-images pair-images-${pair.format}`} style={{ ['--fit' as string]: fit }}>
        {sources.map((ref, i) => {
          const sequence = pair.format === 'sequence';
          return (
            <AttentionImage
              key={`${ref.kind}-${ref.id}-${i}`}
              src={pairImageUrl(client, ref, 512)}
              alt={sequence ? `Image${i + 1}` : `${FORMAT_NAMES[pair.format]} of ${pair.image_count} images`}
              map={maps[i] ?? null}
              side={attention.side}
              coverage={attention.coverage?.[i]}
              max={max}
              opacity={opacity}
              target={sequence && i + 1 === pair.target_index}
              caption={sequence ? `Image${i + 1}` : `Target: Image${pair.target_index} of ${pair.image_count}`}
            />
          );
        })}
      </div>

      <section aria-label="Prompt" className="pair-prompt">
        <h3>Prompt</h3>
        <p>{pair.prompt}</p>
      </section>

      <Diff chosen={pair.chosen} rejected={pair.rejected} />

      <section aria-label="Evidence" className="pair-evidence">
        <h3>Evidence</h3>
        <p data-testid="ratio-sentence">{ratioSentence(pair.attention_ratio, threshold)}</p>
        <dl className="metrics">
          <dt>Attention ratio</dt>
          <dd>{num(pair.attention_ratio)}</dd>
          <dt>Exact-region ratio</dt>
          <dd>{num(pair.exact_ratio)}</dd>
          <dt>Per-image attention</dt>
          <dd>{pair.per_image_mean?.map((v) => num(v)).join(' · ') ?? '–'}</dd>
          <dt>Perplexity (max-prob)</dt>
          <dd>{num(pair.ppl_maxprob)}</dd>
          <dt>Perplexity (true)</dt>
          <dd>{num(pair.ppl_true)}</dd>
          <dt>Length ratio</dt>
          <dd>{num(pair.length_ratio)}</dd>
          <dt>Edit distance</dt>
          <dd>
            {num(pair.edit_distance)} chars · {num(pair.edit_distance_tokens)} tokens
          </dd>
        </dl>
        <h3>Reasons</h3>
        {pair.reasons.length === 0 ? (
          <p className="muted">No selection has decided this pair yet.</p>
        ) : (
          <ul className="reasons">
            {pair.reasons.map((r, i) => (
              <li key={i} className={pair.failed.length > 0 ? 'reason-failed' : undefined}>
                {r}
              </li>
            ))}
          </ul>
        )}
        <details>
          <summary>History ({history.length})</summary>
          <ol className="history">
            {history.map((h, i) => (
              <li key={i}>
                {h.action} · {new Date(h.at).toLocaleString()}
              </li>
            ))}
          </ol>
        </details>
      </section>
    </article>
  );
}

export type { PairView };
