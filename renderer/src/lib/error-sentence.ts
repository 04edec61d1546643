// An error as a sentence a curator reads in the dialog that caused it: the
// message (which names the file, pair or setting) capitalised and ended, with
// no error kind in capitals.
import { toAppError } from '../../../shared/errors';

const LEADS: Record<string, string> = {
  'not-found': 'Not found: ',
  conflict: 'Not possible right now: ',
  'bad-input': 'Please check the values: ',
};

export function errorSentence(e: unknown): string {
  const err = toAppError(e);
  const msg = err.message.trim();
  const body = msg.charAt(0).toLowerCase() + msg.slice(1);
  const lead = LEADS[err.kind] ?? 'Something went wrong: ';
  return `${lead}${body}${/[.!?]$/.test(body) ? '' : '.'}`;
}
