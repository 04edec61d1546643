// One entry of a LLaVA instruction file (the LLaVA-665k shape): validated and
// reduced to what a sample needs. Problems come back as values, never thrown.
import { z } from 'zod';
import type { Turn } from '../../../shared/api';
import { describeIssues } from '../../../shared/api';

/** A path the file system can be asked about: a NUL byte would make every fs call throw (decision 0202). */
const ImagePath = z
  .string()
  .min(1)
  .refine((p) => !p.includes('\0'), { message: 'an image path contains a NUL byte' });

const LlavaEntry = z.object({
  id: z.union([z.string().min(1), z.number()]),
  /** One image, or several for multi-image data; absent for text-only entries. */
  image: z.union([ImagePath, z.array(ImagePath).min(1)]).optional(),
  conversations: z.array(z.object({ from: z.enum(['human', 'gpt']), value: z.string() })).min(1),
});

export type ParsedEntry =
  | { ok: true; externalId: string; conversation: Turn[]; images: string[] }
  | { ok: false; externalId: string | null; message: string };

function idOf(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const id = (raw as { id?: unknown }).id;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

export function parseEntry(raw: unknown): ParsedEntry {
  const parsed = LlavaEntry.safeParse(raw);
  if (!parsed.success)
    return { ok: false, externalId: idOf(raw), message: `not a LLaVA entry: ${describeIssues(parsed.error)}` };
  const e = parsed.data;
  const images = e.image === undefined ? [] : typeof e.image === 'string' ? [e.image] : e.image;
  const first = e.conversations[0]!;
  if (first.from !== 'human')
    return { ok: false, externalId: String(e.id), message: 'the first turn must be from "human"' };
  const placeholders = e.conversations.reduce((n, t) => n + (t.value.match(/<image>/g)?.length ?? 0), 0);
  if (images.length > 0 && placeholders !== images.length) {
    return {
      ok: false,
      externalId: String(e.id),
      message: `${images.length} image(s) but ${placeholders} <image> placeholder(s) in the conversation`,
    };
  }
  return { ok: true, externalId: String(e.id), conversation: e.conversations, images };
}
