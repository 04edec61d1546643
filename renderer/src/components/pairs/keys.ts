// The review keys of the focus view, one table for the handler and the
// shortcut sheet (`?`), so the sheet always tells the truth.

export type ReviewCommand = 'accept' | 'reject' | 'edit' | 'swap' | 'next' | 'previous' | 'undo' | 'redo' | 'help';

export const REVIEW_KEYS: { keys: string[]; command: ReviewCommand; what: string }[] = [
  { keys: ['A'], command: 'accept', what: 'Accept the pair' },
  { keys: ['R'], command: 'reject', what: 'Reject the pair' },
  { keys: ['E'], command: 'edit', what: 'Edit the chosen and rejected answers' },
  { keys: ['S'], command: 'swap', what: 'Swap chosen and rejected' },
  { keys: ['J', '→', '↓'], command: 'next', what: 'Next pair' },
  { keys: ['K', '←', '↑'], command: 'previous', what: 'Previous pair' },
  { keys: ['Ctrl+Z'], command: 'undo', what: 'Undo the last review action (bulk ones too)' },
  { keys: ['Ctrl+Shift+Z', 'Ctrl+Y'], command: 'redo', what: 'Redo' },
  { keys: ['?'], command: 'help', what: 'Show or hide this list' },
];

/** The command a key press means, or null (a press in a text field or with other modifiers means none). */
export function reviewCommand(e: {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
}): ReviewCommand | null {
  const mod = e.ctrlKey || e.metaKey;
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  if (e.altKey) return null;
  if (mod) {
    if (key === 'z') return e.shiftKey ? 'redo' : 'undo';
    if (key === 'y') return 'redo';
    return null;
  }
  if (e.key === '?') return 'help';
  const plain: Record<string, ReviewCommand> = {
    a: 'accept',
    r: 'reject',
    e: 'edit',
    s: 'swap',
    j: 'next',
    k: 'previous',
    ArrowRight: 'next',
    ArrowDown: 'next',
    ArrowLeft: 'previous',
    ArrowUp: 'previous',
  };
  return plain[key] ?? null;
}

/** Whether a key event comes from somewhere typing happens (the review keys then stay out of the way). */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return (
    target.isContentEditable ||
    target.tagName === 'TEXTAREA' ||
    target.tagName === 'SELECT' ||
    (target.tagName === 'INPUT' &&
      !['checkbox', 'radio', 'range', 'button'].includes((target as HTMLInputElement).type))
  );
}
