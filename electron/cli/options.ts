// Option values checked by the zod schemas of the requests they become
// (shared/api, shared/pipeline): commander only splits the command line, the
// schema supplies bounds, defaults and messages, so the CLI, the UI and the
// HTTP API accept exactly the same values. A bad value is a usage error
// naming the option, with the schema's message.
import { Option } from 'commander';
import { z } from 'zod';
import { UsageError } from './command';

const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

function unwrap(field: z.ZodType): z.ZodType {
  let t: z.ZodType = field;
  for (;;) {
    if (t instanceof z.ZodDefault || t instanceof z.ZodOptional || t instanceof z.ZodNullable)
      t = t.unwrap() as z.ZodType;
    // A transformed field (e.g. a block size narrowed to its literals) takes what its input schema takes.
    else if (t instanceof z.ZodPipe) t = t.in as z.ZodType;
    else return t;
  }
}

/** Command-line text as the schema's numbers; blank text is NaN so the schema refuses it. */
function coerce(field: z.ZodType, value: unknown): unknown {
  const t = unwrap(field);
  if (t instanceof z.ZodArray && Array.isArray(value))
    return value.map((v: unknown) => coerce(t.element as z.ZodType, v));
  if (t instanceof z.ZodNumber && typeof value === 'string') return value.trim() === '' ? NaN : Number(value);
  return value;
}

/** The value the schema gives a field left out (undefined when it has no default). */
export function schemaDefault(field: z.ZodType): unknown {
  const r = field.safeParse(undefined);
  return r.success ? r.data : undefined;
}

const CHOICES = new WeakMap<Option, readonly string[]>();

/** An option taking a value; its help lists the schema's choices and default. */
export function valueOption(flags: string, description: string, field?: z.ZodType): Option {
  const notes: string[] = [];
  const t = field === undefined ? undefined : unwrap(field);
  const choices = t instanceof z.ZodEnum ? t.options.map(String) : undefined;
  if (choices) notes.push(`one of ${choices.join(', ')}`);
  const d = field === undefined ? undefined : schemaDefault(field);
  if (d !== undefined) notes.push(`default: ${String(d)}`);
  const option = new Option(flags, notes.length ? `${description} (${notes.join('; ')})` : description);
  if (choices) CHOICES.set(option, choices);
  return option;
}

/** The values an option takes, when the schema lists them. */
export function choicesOf(o: Option): readonly string[] | undefined {
  return CHOICES.get(o);
}

const collect = (value: string, previous: string[] | undefined): string[] => [...(previous ?? []), value];

/** An option given once per value (`--image A --image B`). */
export function repeatableOption(flags: string, description: string): Option {
  return new Option(flags, `${description} (repeatable)`).argParser(collect);
}

export function isRepeatable(o: Option): boolean {
  return o.parseArg === collect;
}

/**
 * `input` (option values keyed by the schema's field names) parsed by
 * `schema`: text becomes a number where the schema wants one, left-out values
 * take the schema's defaults. `flags` names the option of a field whose flag
 * is not the kebab-case of its name (e.g. `aspect` is set by `--pad`).
 */
export function parseOptions<S extends z.ZodObject>(
  schema: S,
  input: Record<string, unknown>,
  flags: Record<string, string> = {},
): z.output<S> {
  const shape = schema.shape as Record<string, z.ZodType | undefined>;
  const coerced: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const field = shape[key];
    if (value !== undefined) coerced[key] = field === undefined ? value : coerce(field, value);
  }
  const parsed = schema.safeParse(coerced);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = String(issue?.path[0] ?? '');
  const given = input[key];
  throw new UsageError(
    `${flags[key] ?? `--${kebab(key)}`}: ${issue?.message ?? 'invalid value'}${given === undefined ? '' : ` (got ${JSON.stringify(given)})`}`,
  );
}
