// A job's progress: bar, counts, rate and time left. Shared by the import
// dialog and the jobs view.
import type { JobProgress as Progress } from '../../../shared/api';
import { formatCount, formatDuration, formatRate, percent } from '../lib/format';

export function JobProgress({ progress, label }: { progress: Progress; label: string }) {
  const pct = percent(progress.done, progress.total);
  return (
    <div className="job-progress">
      <div
        className="progress"
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct === undefined ? undefined : Math.round(pct)}
      >
        <div
          className={`progress-fill${pct === undefined ? ' progress-indeterminate' : ''}`}
          style={{ width: `${pct ?? 100}%` }}
        />
      </div>
      <div className="progress-text">
        <span>
          {formatCount(progress.done)}
          {progress.total === null ? '' : ` / ${formatCount(progress.total)}`}
        </span>
        <span aria-label="Rate">{formatRate(progress.ratePerSec)}</span>
        <span aria-label="Time left">ETA {formatDuration(progress.etaSec)}</span>
      </div>
    </div>
  );
}
