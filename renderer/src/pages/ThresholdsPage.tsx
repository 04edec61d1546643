// The Thresholds page: the attention ratio's histogram per format and image
// count (the paper's Figure 5) with its threshold as a draggable line, the
// kept and dropped counts updating live while it moves (exact: computed from
// the attention values each threshold decides on, pipeline.select.curves),
// the post-selection histograms (perplexity, length ratio, edit distance) with
// their bounds, "Apply" with a preview of the decisions that change before
// pipeline.select runs, and a reset to the paper's defaults. Changes are a
// draft until applied. The paper's Figure 5 (drawn by the server, as saved)
// follows the draft; "Save figure" writes it into the project.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { FINAL_JOB_STATES } from '../../../shared/api';
import type { AttentionCurve, PipelineStats } from '../../../shared/pipeline/commands';
import { DEFAULT_SETTINGS, REFERENCE_THRESHOLDS } from '../../../shared/pipeline/defaults';
import type { Format } from '../../../shared/pipeline/formats';
import type { PostSelection, ThresholdTable } from '../../../shared/pipeline/settings';
import { keptAt, keptTotal } from '../../../shared/pipeline/thresholds';
import { SaveFigure } from '../components/figures/SaveFigure';
import { ErrorText } from '../components/ErrorText';
import { Histogram } from '../components/thresholds/Histogram';
import { useEscape } from '../hooks/useEscape';
import { errorSentence } from '../lib/error-sentence';
import { formatCount } from '../lib/format';
import { svgSource, useAttentionRatioFigure, useSettled } from '../query/figures';
import { usePipelineSettings } from '../query/queries';
import { usePipelineStats, useRunSelection, useSelectCurves, useWatchedJob, useSelectPreview } from '../query/pairs';

import '../review.css';

const BINS = 40;
const FORMAT_NAMES: Record<Format, string> = { sequence: 'Sequence', grid: 'Grid collage', pip: 'Picture in picture' };
type Op = '<' | '<=';
type Bounds = { min: number | null; max: number | null };
type PostKey = 'perplexity' | 'lengthRatio' | 'editDistance';
const POST: { key: PostKey; name: string; unit: (p: PostSelection) => string }[] = [
  { key: 'perplexity', name: 'Perplexity', unit: (p) => (p.perplexity.kind === 'maxprob' ? 'max-prob' : 'true') },
  { key: 'lengthRatio', name: 'Length ratio', unit: () => 'response / ground truth' },
  { key: 'editDistance', name: 'Edit distance', unit: (p) => p.editDistance.unit },
];

interface Draft {
  /** `${format}:${count}` -> threshold value (the op is the setting's). */
  thresholds: Record<string, number>;
  post: Partial<Record<PostKey, Bounds>>;
}
const EMPTY: Draft = { thresholds: {}, post: {} };
const groupKey = (c: { format: Format; imageCount: number }) => `${c.format}:${c.imageCount}`;

/** The settings patch of a draft: only what it changes. */
export function draftPatch(draft: Draft, table: ThresholdTable): Record<string, unknown> {
  const thresholds: Record<string, Record<string, { op: Op; value: number }>> = {};
  for (const [key, value] of Object.entries(draft.thresholds)) {
    const [format, count] = key.split(':') as [Format, string];
    const op = ((table[format] as Record<string, { op: Op }>)[count]?.op ?? '<') as Op;
    (thresholds[format] ??= {})[count] = { op, value };
  }
  const selection: Record<string, unknown> = {};
  if (Object.keys(thresholds).length > 0) selection.thresholds = thresholds;
  if (Object.keys(draft.post).length > 0) selection.post = draft.post;
  return Object.keys(selection).length > 0 ? { selection } : {};
}

function ApplyDialog({
  patch,
  onClose,
  onApplied,
}: {
  patch: Record<string, unknown>;
  onClose(): void;
  onApplied(): void;
}) {
  useEscape(onClose);
  const preview = useSelectPreview();
  const runSel = useRunSelection();
  const [jobId, setJobId] = useState<number | null>(null);
  const job = useWatchedJob(jobId);
  const { mutate: askPreview } = preview;
  // The preview of the patch the dialog opened with (later draft changes need a new dialog).
  const [opened] = useState(patch);
  useEffect(() => askPreview(opened), [askPreview, opened]);
  const p = preview.data;
  const finished = job.data !== undefined && jobId !== null && FINAL_JOB_STATES.includes(job.data.state);
  const err = preview.error ?? runSel.error ?? (job.data?.state === 'failed' ? job.data.error : null);
  return (
    <div className="overlay">
      <section className="dialog" role="dialog" aria-modal="true" aria-labelledby="apply-title">
        <header className="dialog-header">
          <h2 id="apply-title">Apply the thresholds</h2>
          <button type="button" onClick={onClose} aria-label="Close apply dialog">
            ✕
          </button>
        </header>
        {p === undefined && !preview.isError && <p role="status">Working out what changes…</p>}
        {p !== undefined && (
          <>
            <p data-testid="apply-preview">
              Selection will keep {formatCount(p.kept)} of {formatCount(p.total)} generations: {formatCount(p.toKeep)}{' '}
              become kept and {formatCount(p.toDrop)} become dropped.
            </p>
            {p.examples.length > 0 && (
              <ul className="preview-examples">
                {p.examples.map((e) => (
                  <li key={e.generationId}>
                    {e.pairId === null ? `Generation ${e.generationId}` : `Pair ${e.pairId}`} ({FORMAT_NAMES[e.format]},{' '}
                    {e.imageCount} images): {e.before ?? 'undecided'} → {e.after === 'keep' ? 'kept' : 'dropped'}
                    {e.after === 'drop' && e.reasons[0] ? ` — ${e.reasons[0]}` : ''}
                  </li>
                ))}
              </ul>
            )}
            <p className="muted">Reviews and edits of pairs are kept; dropped pairs are hidden from exports.</p>
          </>
        )}
        {jobId !== null && (
          <p role="status" data-testid="apply-status">
            {finished
              ? job.data?.state === 'done' && job.data.kind === 'select'
                ? `Selection finished: ${formatCount(job.data.result?.kept ?? 0)} generations kept.`
                : `Selection ${job.data?.state}.`
              : 'Selection is running…'}
          </p>
        )}
        {err && (
          <p className="error-text" role="alert">
            {errorSentence(err)}
          </p>
        )}
        <div className="dialog-actions">
          <button type="button" onClick={onClose}>
            {finished ? 'Close' : 'Cancel'}
          </button>
          {jobId === null && (
            <button
              type="button"
              className="primary"
              disabled={p === undefined || runSel.isPending}
              onClick={() =>
                runSel.mutate(opened, {
                  onSuccess: (r) => {
                    setJobId(r.jobId);
                    onApplied();
                  },
                })
              }
            >
              Run selection
            </button>
          )}
        </div>
      </section>
    </div>
  );
}

function BoundInput({
  label,
  value,
  onChange,
}: {
  label: string;
  value: number | null;
  onChange(v: number | null): void;
}) {
  return (
    <label>
      {label}
      <input
        type="number"
        step="any"
        value={value ?? ''}
        placeholder="off"
        onChange={(e) => onChange(e.target.value === '' ? null : Number(e.target.value))}
      />
    </label>
  );
}

function GroupCard({
  h,
  curve,
  value,
  onChange,
}: {
  h: PipelineStats['attention'][number];
  curve: AttentionCurve | undefined;
  value: number;
  onChange(v: number): void;
}) {
  const name = `${FORMAT_NAMES[h.format]}, ${h.imageCount} images`;
  const op = h.threshold?.op ?? '<';
  const kept = curve === undefined ? undefined : keptAt(curve.passOthers, op, value);
  const total = curve?.total ?? h.histogram.counts.reduce((a, b) => a + b, 0) + h.histogram.missing;
  const threshold = useMemo(() => ({ value, min: 0, max: 1, step: 0.01, onChange }), [value, onChange]);
  return (
    <section className="hist-card" aria-label={name}>
      <h3>{name}</h3>
      <Histogram
        label={`Attention ratio, ${name}`}
        edges={h.histogram.edges}
        counts={h.histogram.counts}
        threshold={threshold}
      />
      <div className="hist-inputs">
        <label>
          Keep ratio {op}
          <input
            type="number"
            min={0}
            max={1}
            step={0.01}
            value={value}
            aria-label={`Threshold value, ${name}`}
            onChange={(e) => e.target.value !== '' && onChange(Number(e.target.value))}
          />
        </label>
        <span className="hist-counts" data-testid={`group-counts-${h.format}-${h.imageCount}`}>
          kept <b>{kept === undefined ? '–' : formatCount(kept)}</b> · dropped{' '}
          <b>{kept === undefined ? '–' : formatCount(total - kept)}</b> of {formatCount(total)}
        </span>
      </div>
    </section>
  );
}

/** The paper's Figure 5 as the server draws and saves it, redrawn with the draft's thresholds once a drag rests. */
function RatioFigure({ patch }: { patch: Record<string, unknown> }) {
  const settled = JSON.parse(useSettled(JSON.stringify(patch))) as Record<string, unknown>;
  const figure = useAttentionRatioFigure(settled);
  return (
    <section className="figure-card" aria-labelledby="figure5-title">
      <h3 id="figure5-title">Figure 5: attention ratio per format, with the thresholds</h3>
      {figure.data === undefined ? (
        !figure.isError && <p role="status">Drawing the figure…</p>
      ) : (
        <img
          className="figure-image"
          data-testid="figure5"
          src={svgSource(figure.data.svg)}
          alt={`Figure 5: histograms of the attention ratio on the target image of ${figure.data.answers} answers, one panel per format, the selection thresholds as dashed lines`}
        />
      )}
      <ErrorText error={figure.error} />
      <SaveFigure label="Save figure" request={{ figures: ['attention-ratios'], patch }} />
    </section>
  );
}

export function ThresholdsPage() {
  const stats = usePipelineStats(BINS).data;
  const curves = useSelectCurves().data;
  const settings = usePipelineSettings().data?.settings;
  const [draft, setDraft] = useState<Draft>(EMPTY);
  const [applying, setApplying] = useState(false);

  const valueOf = useCallback(
    (h: { format: Format; imageCount: number; threshold: { value: number } | null }) =>
      draft.thresholds[groupKey(h)] ?? h.threshold?.value ?? 0,
    [draft],
  );
  const setThreshold = useCallback(
    (key: string, v: number) => setDraft((d) => ({ ...d, thresholds: { ...d.thresholds, [key]: v } })),
    [],
  );
  const handlers = useMemo(() => {
    const m = new Map<string, (v: number) => void>();
    for (const h of stats?.attention ?? []) m.set(groupKey(h), (v) => setThreshold(groupKey(h), v));
    return m;
  }, [stats, setThreshold]);

  const live = useMemo(() => {
    if (curves === undefined) return undefined;
    const moved = curves.curves.map((c) => ({
      ...c,
      threshold: c.threshold && { op: c.threshold.op, value: draft.thresholds[groupKey(c)] ?? c.threshold.value },
    }));
    return keptTotal(moved);
  }, [curves, draft]);

  if (stats === undefined || settings === undefined) return <p role="status">Loading the statistics…</p>;
  if (stats.generations === 0)
    return (
      <div className="thresholds-page">
        <h2>Thresholds</h2>
        <p className="empty">
          No answers yet. Run the respond step on the Pipeline page; the histograms appear once the model has answered.
        </p>
      </div>
    );
  const post = settings.selection.post;
  const bounds = (k: PostKey): Bounds => draft.post[k] ?? { min: post[k].min, max: post[k].max };
  const postChanged = Object.keys(draft.post).length > 0;
  const patch = draftPatch(draft, settings.selection.thresholds);
  const dirty = Object.keys(patch).length > 0;
  const reset = () => {
    const thresholds: Record<string, number> = {};
    for (const h of stats.attention) {
      const ref = (REFERENCE_THRESHOLDS[h.format] as Record<string, { value: number }>)[String(h.imageCount)];
      if (ref) thresholds[groupKey(h)] = ref.value;
    }
    const d = DEFAULT_SETTINGS.selection.post;
    setDraft({
      thresholds,
      post: {
        perplexity: { min: d.perplexity.min, max: d.perplexity.max },
        lengthRatio: { ...d.lengthRatio },
        editDistance: { min: d.editDistance.min, max: d.editDistance.max },
      },
    });
  };

  return (
    <div className="thresholds-page">
      <div className="thresholds-summary">
        <h2>Thresholds</h2>
        <span role="status" data-testid="kept-total">
          {live === undefined
            ? 'Counting…'
            : `Kept ${formatCount(live)} of ${formatCount(curves!.total)} generations · dropped ${formatCount(
                curves!.total - live,
              )}`}
          {postChanged ? ' (bounds changed: see Apply for the count with them)' : ''}
        </span>
        <button type="button" className="primary" disabled={!dirty} onClick={() => setApplying(true)}>
          Apply…
        </button>
        <button type="button" disabled={!dirty} onClick={() => setDraft(EMPTY)}>
          Discard changes
        </button>
        <button type="button" onClick={reset}>
          Reset to the paper's defaults
        </button>
      </div>
      <p className="muted">
        A pair is kept when the model's attention on the target image is below the threshold (it looked elsewhere and
        answered wrongly). Drag a red line or use the arrow keys on it; nothing changes in the project until you apply.
      </p>
      <h3>Attention ratio per format and image count</h3>
      <div className="hist-grid">
        {stats.attention.map((h) => (
          <GroupCard
            key={groupKey(h)}
            h={h}
            curve={curves?.curves.find((c) => groupKey(c) === groupKey(h))}
            value={valueOf(h)}
            onChange={handlers.get(groupKey(h))!}
          />
        ))}
      </div>
      <RatioFigure patch={patch} />
      <h3>After selection: perplexity, length ratio, edit distance</h3>
      <div className="hist-grid">
        {POST.map(({ key, name, unit }) => {
          const b = bounds(key);
          const h = stats.post[key];
          const markers = [
            ...(b.min === null ? [] : [{ value: b.min, label: 'min' }]),
            ...(b.max === null ? [] : [{ value: b.max, label: 'max' }]),
          ];
          const set = (change: Partial<Bounds>) =>
            setDraft((d) => ({ ...d, post: { ...d.post, [key]: { ...b, ...change } } }));
          return (
            <section key={key} className="hist-card" aria-label={name}>
              <h3>
                {name} <span className="muted">({unit(post)})</span>
              </h3>
              <Histogram label={`${name} of all answers`} edges={h.edges} counts={h.counts} markers={markers} />
              <div className="hist-inputs">
                <BoundInput label={`${name} at least`} value={b.min} onChange={(min) => set({ min })} />
                <BoundInput label={`${name} at most`} value={b.max} onChange={(max) => set({ max })} />
                <span className="hist-counts">{formatCount(h.missing)} without a value</span>
              </div>
            </section>
          );
        })}
      </div>
      {applying && <ApplyDialog patch={patch} onClose={() => setApplying(false)} onApplied={() => setDraft(EMPTY)} />}
    </div>
  );
}
