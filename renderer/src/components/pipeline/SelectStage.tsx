// Stage 4, select: decide which answers become preference pairs. An answer is
// kept as "rejected" when the model's attention on the target image is below
// the threshold of its format and image count (the paper's table, the
// defaults); the form edits that table, saved in the project when selection
// starts. Fine tuning on the histograms is the Thresholds page's job.
import { useState, type FormEvent } from 'react';
import { REFERENCE_THRESHOLDS } from '../../../../shared/pipeline/defaults';
import type { PipelineOverview } from '../../../../shared/pipeline/commands';
import { FORMATS } from '../../../../shared/pipeline/formats';
import type { Comparison, ThresholdTable } from '../../../../shared/pipeline/settings';
import { formatCount } from '../../lib/format';
import { FORMAT_LABELS } from '../../lib/labels';
import { canStart, stageState } from '../../lib/pipeline-stages';
import { queryKeys } from '../../query/keys';
import { useCommand } from '../../query/mutations';
import { useLatestJob, usePipelineSettings } from '../../query/queries';
import { ErrorText } from '../ErrorText';
import { StageCard } from './StageCard';

type Row = { op: Comparison; value: number };

function ThresholdInputs({ table, onChange }: { table: ThresholdTable; onChange(t: ThresholdTable): void }) {
  const set = (format: keyof ThresholdTable, count: string, row: Row) =>
    onChange({ ...table, [format]: { ...table[format], [count]: row } } as ThresholdTable);
  return (
    <table className="thresholds-table" aria-label="Attention thresholds">
      <caption className="hint">
        An answer counts as the model being confused (a pair is made) when its attention ratio on the target image is
        below the threshold.
      </caption>
      <thead>
        <tr>
          <th scope="col">Format</th>
          <th scope="col">Images</th>
          <th scope="col">Keep when ratio</th>
        </tr>
      </thead>
      <tbody>
        {FORMATS.flatMap((f) =>
          Object.entries(table[f] as Record<string, Row>).map(([count, row]) => (
            <tr key={`${f}-${count}`}>
              <td>{FORMAT_LABELS[f]}</td>
              <td>{count}</td>
              <td className="threshold-cell">
                <select
                  aria-label={`${FORMAT_LABELS[f]} with ${count} images: comparison`}
                  value={row.op}
                  onChange={(e) => set(f, count, { ...row, op: e.target.value as Comparison })}
                >
                  <option value="<">below</option>
                  <option value="<=">at most</option>
                </select>
                <input
                  aria-label={`${FORMAT_LABELS[f]} with ${count} images: threshold`}
                  type="number"
                  min={0}
                  step="any"
                  value={row.value}
                  onChange={(e) => set(f, count, { ...row, value: Number(e.target.value) })}
                />
              </td>
            </tr>
          )),
        )}
      </tbody>
    </table>
  );
}

export function SelectStage({ overview, readOnly }: { overview: PipelineOverview; readOnly: boolean }) {
  const job = useLatestJob('select');
  const saved = usePipelineSettings().data?.settings.selection.thresholds;
  const start = useCommand('pipeline.select', [queryKeys.pipelineSettings]);
  const [edited, setEdited] = useState<ThresholdTable | undefined>(undefined);
  const table = edited ?? saved;
  const decided = overview.decisions.keep + overview.decisions.drop;
  const state = stageState({ job, made: decided, inputReady: overview.generations > 0 });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    start.mutate(edited === undefined ? {} : { patch: { selection: { thresholds: edited } } }, {
      onSuccess: () => setEdited(undefined),
    });
  };

  return (
    <StageCard
      id="select"
      step={4}
      title="Select"
      purpose="Keeps the answers where the model looked at the wrong image (low attention on the target) as pairs to learn from."
      state={state}
      job={job}
      counts={
        <p>
          {formatCount(overview.decisions.keep)} kept, {formatCount(overview.decisions.drop)} dropped
          {overview.decisions.undecided > 0
            ? `, ${formatCount(overview.decisions.undecided)} not selected yet`
            : ''}; {formatCount(overview.pairs.total)} pairs
        </p>
      }
    >
      <form className="stage-form" onSubmit={submit} aria-label="Select settings">
        {table === undefined ? (
          <p role="status">Loading settings…</p>
        ) : (
          <ThresholdInputs table={table} onChange={setEdited} />
        )}
        <div className="row">
          <button type="button" onClick={() => setEdited(REFERENCE_THRESHOLDS)}>
            Paper defaults
          </button>
          {edited !== undefined && <span className="muted">Changed; saved when selection starts.</span>}
        </div>
        <ErrorText error={start.error} />
        <button
          type="submit"
          className="primary"
          disabled={readOnly || !canStart(state) || overview.generations === 0 || start.isPending}
        >
          Start selection
        </button>
      </form>
    </StageCard>
  );
}
