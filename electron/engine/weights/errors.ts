// The one error the safetensors code throws: a 'bad-file' AppError that
// names the file and the validation rule it broke, so tests and callers can
// branch on the rule and users see which file to replace.
import { AppError } from '../../../shared/errors';

export const SAFETENSORS_RULES = [
  'file-too-small', // fewer than the 8 bytes of the header length
  'header-too-large', // declared header length above 100 MB
  'header-out-of-file', // declared header length runs past the end of the file
  'header-utf8', // header bytes are not valid UTF-8
  'header-start', // header does not start with '{'
  'header-json', // header is not a JSON object
  'metadata', // __metadata__ is not a string -> string map
  'tensor-entry', // an entry lacks dtype/shape/data_offsets or has the wrong types
  'dtype', // unknown dtype
  'offsets', // data_offsets not contiguous from 0 (gap, overlap, end < begin)
  'byte-length', // end - begin differs from numel x dtype size
  'file-size', // last offset does not reach exactly the end of the file
  'index', // model.safetensors.index.json malformed
  'shard-missing', // a shard named by the index does not exist
  'shard-tensor', // a tensor in no shard, in two shards, or not where the index says
  'tensor-missing', // asked for a tensor the checkpoint does not hold
  'read', // the file shrank or could not be read after validation
] as const;
export type SafetensorsRule = (typeof SAFETENSORS_RULES)[number];

export class SafetensorsError extends AppError {
  readonly rule: SafetensorsRule;
  readonly file: string;

  constructor(rule: SafetensorsRule, file: string, detail: string, cause?: unknown) {
    super('bad-file', `${file}: ${detail} [safetensors rule: ${rule}]`, { subject: file, cause });
    this.name = 'SafetensorsError';
    this.rule = rule;
    this.file = file;
  }
}
