// The Evaluation page: import a benchmark, evaluate the base model or an
// adapter on it (a job with progress, ETA and controls), the runs x benchmarks
// table with accuracy, 95% intervals and deltas to a baseline, and two runs
// compared item by item (images, both answers, who is right) with one item's
// attention on request: the paper's Figure 6 (before and after over the
// images, savable into the project) and the difference per image. Without the
// eval commands it says so.
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { EP_CHOICES, type EpChoice } from '../../../shared/ep';
import type { WeightsChoice } from '../../../shared/weights';
import { WeightsField } from '../components/WeightsField';
import { EVAL_MODES, type EvalMode, type EvalRun, type SideBySideItem } from '../../../shared/pipeline/eval';
import { useApi } from '../api-context';
import { ErrorText } from '../components/ErrorText';
import { DiffHeatmap } from '../components/evaluation/DiffHeatmap';
import { SaveFigure } from '../components/figures/SaveFigure';
import { Field } from '../components/Field';
import { JobControls } from '../components/JobControls';
import { JobProgress } from '../components/JobProgress';
import { EVAL_COMMANDS, hasCommands } from '../lib/available';
import { formatCount } from '../lib/format';
import { svgSource, useBeforeAfterFigure } from '../query/figures';
import { queryKeys } from '../query/keys';
import { useCommand } from '../query/mutations';
import { useLatestJob, useProjectInfo } from '../query/queries';
import { FINAL_JOB_STATES } from '../../../shared/api';

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const interval = ([lo, hi]: readonly [number, number]) => `${(100 * lo).toFixed(1)}–${(100 * hi).toFixed(1)}`;
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)} pts`;

function runName(r: EvalRun): string {
  return `Run ${r.id}: ${r.modelId} on ${r.benchmark} (${r.mode})`;
}

function useBenchmarks() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.benchmarks, queryFn: () => client.invoke('eval.bench.list', {}) });
}

function useEvalRuns() {
  const client = useApi();
  return useQuery({ queryKey: queryKeys.evalRuns, queryFn: () => client.invoke('eval.runs', {}) });
}

function Benchmarks() {
  const benchmarks = useBenchmarks().data?.benchmarks;
  const importBench = useCommand('eval.bench.import', [queryKeys.benchmarks]);
  const [file, setFile] = useState('');
  const [name, setName] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    importBench.mutate({ file: file.trim(), ...(name.trim() === '' ? {} : { name: name.trim() }) });
  };
  const result = importBench.data;
  return (
    <section className="card" aria-labelledby="bench-title">
      <h2 id="bench-title">Benchmarks</h2>
      <form className="stage-form" onSubmit={submit} aria-label="Import a benchmark">
        <div className="form-grid">
          <Field
            label="Benchmark file"
            hint="A VLMEvalKit TSV (images inline or by path) or a JSON / JSONL file of questions."
          >
            {(p) => (
              <input
                {...p}
                value={file}
                required
                onChange={(e) => setFile(e.target.value)}
                placeholder="/data/MMMU_DEV_VAL.tsv"
              />
            )}
          </Field>
          <Field label="Benchmark name" hint="How runs and tables name it; empty uses the file name.">
            {(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" />}
          </Field>
        </div>
        <ErrorText error={importBench.error} />
        {result !== undefined && (
          <div role="status" aria-label="Benchmark import result">
            <p>
              {result.benchmark.name}: {formatCount(result.benchmark.items)} items imported,{' '}
              {formatCount(result.problems.length)} rows left out.
            </p>
            {result.problems.length > 0 && (
              <ul className="problems-short">
                {result.problems.slice(0, 10).map((p) => (
                  <li key={`${p.row}-${p.reason}`}>
                    Row {p.row} (index {p.index}): {p.message}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
        <button type="submit" className="primary" disabled={importBench.isPending}>
          Import benchmark
        </button>
      </form>
      {benchmarks !== undefined && benchmarks.length > 0 && (
        <div className="table-scroll">
          <table aria-label="Imported benchmarks">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Items</th>
                <th scope="col">Rows left out</th>
                <th scope="col">Categories</th>
              </tr>
            </thead>
            <tbody>
              {benchmarks.map((b) => (
                <tr key={b.id}>
                  <td>{b.name}</td>
                  <td>{formatCount(b.items)}</td>
                  <td>{formatCount(b.problems)}</td>
                  <td>{b.categories.join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function EvaluateForm({ readOnly }: { readOnly: boolean }) {
  const benchmarks = useBenchmarks().data?.benchmarks ?? [];
  const job = useLatestJob('eval');
  const run = useCommand('eval.run', [queryKeys.eval]);
  const [model, setModel] = useState('');
  const [adapter, setAdapter] = useState('');
  const [bench, setBench] = useState('');
  const [mode, setMode] = useState<EvalMode>('generate');
  const [maxNewTokens, setMaxNewTokens] = useState('32');
  const [ep, setEp] = useState<EpChoice>('auto');
  // fp32 keeps earlier runs' keys (the format is part of the model id); another format is a run of its own.
  const [weights, setWeights] = useState<WeightsChoice>('fp32');
  const chosenBench = bench || benchmarks[0]?.name || '';
  const submit = (e: FormEvent) => {
    e.preventDefault();
    run.mutate({
      model: model.trim(),
      bench: chosenBench,
      mode,
      maxNewTokens: Number(maxNewTokens),
      ep,
      ...(weights === 'fp32' ? {} : { weights }),
      ...(adapter.trim() === '' ? {} : { adapter: adapter.trim() }),
    });
  };
  const active = job !== undefined && !FINAL_JOB_STATES.includes(job.state);
  return (
    <section className="card" aria-labelledby="evaluate-title">
      <h2 id="evaluate-title">Evaluate a model</h2>
      <form className="stage-form" onSubmit={submit} aria-label="Evaluation settings">
        <div className="form-grid">
          <Field label="Model folder" hint="The base model: a llava-hf or InternLM-XComposer-2.5 folder.">
            {(p) => <input {...p} value={model} required onChange={(e) => setModel(e.target.value)} />}
          </Field>
          <Field
            label="Adapter folder (optional)"
            hint="A trained adapter applied to the model; empty evaluates the base model."
          >
            {(p) => <input {...p} value={adapter} onChange={(e) => setAdapter(e.target.value)} />}
          </Field>
          <Field label="Benchmark" hint="One of the imported benchmarks.">
            {(p) => (
              <select {...p} value={chosenBench} onChange={(e) => setBench(e.target.value)}>
                {benchmarks.map((b) => (
                  <option key={b.id} value={b.name}>
                    {b.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field
            label="Mode"
            hint="generate: the model answers and the option is read from it; likelihood: each option is scored."
          >
            {(p) => (
              <select {...p} value={mode} onChange={(e) => setMode(e.target.value as EvalMode)}>
                {EVAL_MODES.map((m) => (
                  <option key={m} value={m}>
                    {m}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Maximum answer length" hint="New tokens at most per answer in generate mode.">
            {(p) => (
              <input
                {...p}
                type="number"
                min={1}
                step={1}
                value={maxNewTokens}
                onChange={(e) => setMaxNewTokens(e.target.value)}
              />
            )}
          </Field>
          <Field label="Execution provider" hint="Where the model runs; automatic picks the fastest available.">
            {(p) => (
              <select {...p} value={ep} onChange={(e) => setEp(e.target.value as EpChoice)}>
                {EP_CHOICES.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <WeightsField value={weights} onChange={setWeights} />
        </div>
        {active && (
          <>
            <JobProgress progress={job.progress} label="Evaluation progress" />
            <JobControls job={job} name="evaluation" />
          </>
        )}
        {job?.state === 'failed' && <ErrorText error={job.error} />}
        <ErrorText error={run.error} />
        <button type="submit" className="primary" disabled={readOnly || run.isPending || chosenBench === '' || active}>
          Start evaluation
        </button>
      </form>
    </section>
  );
}

function ResultsTable() {
  const client = useApi();
  const [baseline, setBaseline] = useState<string | undefined>(undefined);
  const table = useQuery({
    queryKey: queryKeys.evalTable(baseline),
    queryFn: () => client.invoke('eval.table', baseline === undefined ? {} : { baseline }),
  }).data;
  if (table === undefined) return <p role="status">Loading results…</p>;
  if (table.rows.length === 0) return <p className="muted">No evaluation yet.</p>;
  return (
    <>
      <label className="row">
        Baseline{' '}
        <select value={baseline ?? table.rows[0]!.modelId} onChange={(e) => setBaseline(e.target.value)}>
          {[...new Set(table.rows.map((r) => r.modelId))].map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </select>
      </label>
      <div className="table-scroll">
        <table aria-label="Runs by benchmark">
          <caption className="hint">Accuracy with its 95% interval; the change against the baseline below it.</caption>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col">Mode</th>
              {table.benchmarks.map((b) => (
                <th key={b.id} scope="col">
                  {b.name}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((r) => (
              <tr key={`${r.modelId}-${r.mode}`}>
                <th scope="row" className="model-id">
                  {r.modelId}
                </th>
                <td>{r.mode}</td>
                {r.cells.map((c, i) => (
                  <td key={table.benchmarks[i]!.id}>
                    {c === null ? (
                      '–'
                    ) : (
                      <>
                        <strong>{pct(c.accuracy)}</strong> <span className="muted">[{interval(c.ci95)}]</span>
                        {c.delta !== null && (
                          <div className={c.delta >= 0 ? 'delta-up' : 'delta-down'}>{signed(c.delta)}</div>
                        )}
                        <div className="muted">n = {formatCount(c.n)}</div>
                      </>
                    )}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** The paper's Figure 6 for one item (run A before, run B after), then B minus A per image; one model run each. */
function AttentionDiffView({ a, b, itemId }: { a: number; b: number; itemId: number }) {
  const figure = useBeforeAfterFigure(a, b, itemId);
  if (figure.isFetching) return <p role="status">Running both models on this item…</p>;
  if (figure.error) return <ErrorText error={figure.error} />;
  if (figure.data === undefined) return null;
  const d = figure.data.diff;
  return (
    <div className="attention-diff" aria-label="Attention difference">
      <img
        className="figure-image"
        data-testid="figure6"
        src={svgSource(figure.data.svg)}
        alt={`Figure 6: attention over each image of this item at layer ${d.layer}, run ${a} above and run ${b} below, the target image framed`}
      />
      <SaveFigure
        label="Save as Figure 6"
        request={{ figures: ['attention-before-after'], item: itemId, runs: [a, b] }}
      />
      <p className="muted">Attention of run B minus run A at layer {d.layer}, per image.</p>
      <div className="row">
        {d.images.map((img, i) => (
          <div key={img.imageId}>
            <p>
              Image{i + 1}: {formatCount(Math.round(1e4 * img.mean_a) / 1e4)} →{' '}
              {formatCount(Math.round(1e4 * img.mean_b) / 1e4)} ({img.mean_diff >= 0 ? '+' : ''}
              {img.mean_diff.toFixed(4)})
            </p>
            <DiffHeatmap values={img.diff} side={d.side} label={`Attention difference over Image${i + 1}`} />
          </div>
        ))}
      </div>
    </div>
  );
}

function SideItem({ item, a, b }: { item: SideBySideItem; a: number; b: number }) {
  const client = useApi();
  const [showDiff, setShowDiff] = useState(false);
  const verdict = (x: SideBySideItem['a']) => (x.correct ? '✓ right' : '✗ wrong');
  return (
    <li className="side-item" aria-label={`Item ${item.index}`}>
      <div className="side-images">
        {item.imageIds.map((id, i) => (
          <img key={`${id}-${i}`} src={client.imageUrl(id, 256)} alt={`Image${i + 1} of item ${item.index}`} />
        ))}
      </div>
      <p>
        <span className="muted">{item.category} · </span>
        {item.question}
      </p>
      <p>
        <span className="muted">Correct answer: </span>
        {item.answer}
      </p>
      <div className="side-answers">
        <div className={item.a.correct ? 'answer-right' : 'answer-wrong'}>
          <strong>A: {verdict(item.a)}</strong> ({item.a.prediction ?? 'no option found'})
          {item.a.response !== null && <p className="response">{item.a.response}</p>}
        </div>
        <div className={item.b.correct ? 'answer-right' : 'answer-wrong'}>
          <strong>B: {verdict(item.b)}</strong> ({item.b.prediction ?? 'no option found'})
          {item.b.response !== null && <p className="response">{item.b.response}</p>}
        </div>
      </div>
      <button type="button" onClick={() => setShowDiff((s) => !s)} aria-expanded={showDiff}>
        {showDiff ? 'Hide attention difference' : 'Show attention difference'}
      </button>
      {showDiff && <AttentionDiffView a={a} b={b} itemId={item.itemId} />}
    </li>
  );
}

function Compare({ runs }: { runs: EvalRun[] }) {
  const client = useApi();
  const [a, setA] = useState<number | undefined>(undefined);
  const [b, setB] = useState<number | undefined>(undefined);
  const [disagree, setDisagree] = useState(true);
  const [offset, setOffset] = useState(0);
  const runA = a ?? runs[0]?.id;
  const runB = b ?? runs[1]?.id;
  const ready = runA !== undefined && runB !== undefined && runA !== runB;
  const filter = disagree ? { disagree: true } : {};
  const compare = useQuery({
    queryKey: queryKeys.evalCompare(runA ?? -1, runB ?? -1),
    queryFn: () => client.invoke('eval.compare', { a: runA!, b: runB! }),
    enabled: ready,
  });
  const side = useQuery({
    queryKey: queryKeys.evalSide(runA ?? -1, runB ?? -1, filter, offset),
    queryFn: () => client.invoke('eval.side', { a: runA!, b: runB!, offset, limit: 20, filter }),
    enabled: ready,
    placeholderData: keepPreviousData,
  });
  const c = compare.data;
  const select = (value: number | undefined, set: (n: number) => void, label: string) => (
    <label>
      {label}{' '}
      <select value={value} onChange={(e) => (set(Number(e.target.value)), setOffset(0))}>
        {runs.map((r) => (
          <option key={r.id} value={r.id}>
            {runName(r)}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <section className="card" aria-labelledby="compare-title">
      <h2 id="compare-title">Compare two runs</h2>
      {runs.length < 2 ? (
        <p className="muted">Evaluate at least two models (for example the base and an adapter) to compare them.</p>
      ) : (
        <>
          <div className="row">
            {select(runA, setA, 'Run A')}
            {select(runB, setB, 'Run B')}
          </div>
          <ErrorText error={compare.error ?? side.error} />
          {c !== undefined && (
            <p aria-label="Comparison summary">
              On {formatCount(c.n)} shared items: A {pct(c.accuracy_a)}, B {pct(c.accuracy_b)}, change {signed(c.delta)}{' '}
              [{signed(c.delta_ci95[0])} to {signed(c.delta_ci95[1])}]; both right {c.both_right}, only A {c.a_only},
              only B {c.b_only}, both wrong {c.both_wrong}; McNemar p = {c.mcnemar_p.toPrecision(3)}.
            </p>
          )}
          <label className="check">
            <input
              type="checkbox"
              checked={disagree}
              onChange={(e) => {
                setDisagree(e.target.checked);
                setOffset(0);
              }}
            />{' '}
            Only items where one run is right and the other wrong
          </label>
          {side.data !== undefined && (
            <>
              <p role="status" aria-label="Compared items">
                {side.data.total === 0
                  ? 'No items to show.'
                  : `${formatCount(offset + 1)}–${formatCount(Math.min(side.data.total, offset + 20))} of ${formatCount(side.data.total)} items`}
              </p>
              <ul className="side-list">
                {side.data.items.map((item) => (
                  <SideItem key={item.itemId} item={item} a={runA!} b={runB!} />
                ))}
              </ul>
              <div className="pager">
                <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 20))}>
                  Previous
                </button>
                <button type="button" disabled={offset + 20 >= side.data.total} onClick={() => setOffset(offset + 20)}>
                  Next
                </button>
              </div>
            </>
          )}
        </>
      )}
    </section>
  );
}

function Evaluation() {
  const readOnly = useProjectInfo().data?.project?.readOnly ?? true;
  const runs = useEvalRuns().data?.runs ?? [];
  return (
    <div className="evaluation">
      <Benchmarks />
      <EvaluateForm readOnly={readOnly} />
      <section className="card" aria-labelledby="results-title">
        <h2 id="results-title">Results</h2>
        <ResultsTable />
      </section>
      <Compare runs={[...runs].sort((x, y) => x.id - y.id)} />
    </div>
  );
}

export function EvaluationPage() {
  if (!hasCommands(...EVAL_COMMANDS))
    return (
      <div className="evaluation">
        <section className="card" aria-labelledby="eval-na-title">
          <h2 id="eval-na-title">Evaluation</h2>
          <p role="status">Evaluation is not available in this version of the app yet.</p>
        </section>
      </div>
    );
  return <Evaluation />;
}
