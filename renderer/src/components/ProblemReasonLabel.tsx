// A problem reason in the user's words, shown the same way everywhere.
import type { ProblemReason } from '../../../shared/api';

const LABELS: Record<ProblemReason, string> = {
  'missing-image': 'Missing image',
  'unreadable-image': 'Unreadable image',
  'malformed-entry': 'Malformed entry',
  'duplicate-id': 'Duplicate id',
  'path-escape': 'Path outside image folder',
  symlink: 'Symbolic link',
};

export function ProblemReasonLabel({ reason }: { reason: ProblemReason }) {
  return <span className={`reason reason-${reason}`}>{LABELS[reason]}</span>;
}
