// A small LLaVA-format dataset drawn with sharp (coloured shapes with a caption
// that matches the conversation), for the demo, tests and benchmarks. With
// `bad: true` it adds one entry per kind of problem an import must report.
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { withImagePlaceholders } from '../engine/text/image-placeholders';

const COLOURS = ['red', 'green', 'blue', 'orange', 'purple', 'teal', 'gold', 'gray'] as const;
const SHAPES = ['circle', 'square', 'triangle'] as const;

export interface DemoDataset {
  file: string;
  imagesRoot: string;
  /** Entries written, bad ones included. */
  entries: number;
  /** Number of entries that must be reported as problems. */
  badEntries: number;
}

function shapeSvg(shape: (typeof SHAPES)[number], colour: string, size: number): string {
  const body =
    shape === 'circle'
      ? `<circle cx="${size / 2}" cy="${size / 2}" r="${size / 3}" fill="${colour}"/>`
      : shape === 'square'
        ? `<rect x="${size / 6}" y="${size / 6}" width="${(size * 2) / 3}" height="${(size * 2) / 3}" fill="${colour}"/>`
        : `<polygon points="${size / 2},${size / 8} ${size / 8},${(size * 7) / 8} ${(size * 7) / 8},${(size * 7) / 8}" fill="${colour}"/>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}"><rect width="100%" height="100%" fill="white"/>${body}</svg>`;
}

export function describeImage(i: number): { colour: string; shape: string; file: string } {
  const colour = COLOURS[i % COLOURS.length]!;
  const shape = SHAPES[Math.floor(i / COLOURS.length) % SHAPES.length]!;
  return { colour, shape, file: `img/${String(i).padStart(5, '0')}-${colour}-${shape}.jpg` };
}

/** Writes `images` distinct JPEGs under root/img. */
export async function drawImages(root: string, images: number, size = 96): Promise<string[]> {
  await mkdir(path.join(root, 'img'), { recursive: true });
  const files: string[] = [];
  for (let i = 0; i < images; i++) {
    const d = describeImage(i);
    await sharp(Buffer.from(shapeSvg(d.shape as (typeof SHAPES)[number], d.colour, size)))
      .jpeg({ quality: 80 })
      .toFile(path.join(root, d.file));
    files.push(d.file);
  }
  return files;
}

export function llavaEntry(i: number, image: string | null): Record<string, unknown> {
  const d = describeImage(i);
  const conversations = [
    { from: 'human', value: withImagePlaceholders('What shape is shown, and what colour is it?', image ? 1 : 0) },
    {
      from: 'gpt',
      value: image ? `A ${d.colour} ${d.shape} on a white background.` : 'There is no image to describe.',
    },
  ];
  return image ? { id: `demo-${i}`, image, conversations } : { id: `demo-${i}`, conversations };
}

export async function makeDemoDataset(
  dir: string,
  options: { samples?: number; images?: number; bad?: boolean } = {},
): Promise<DemoDataset> {
  const samples = options.samples ?? 60;
  const imagesRoot = path.join(dir, 'images');
  const files = await drawImages(imagesRoot, options.images ?? Math.min(samples, 24));
  const entries: unknown[] = [];
  for (let i = 0; i < samples; i++) entries.push(llavaEntry(i, i % 10 === 9 ? null : files[i % files.length]!));
  let badEntries = 0;
  if (options.bad ?? true) {
    await writeFile(path.join(imagesRoot, 'img', 'corrupt.jpg'), Buffer.from('this is not a JPEG file'));
    await symlink(path.join(imagesRoot, files[0]!), path.join(imagesRoot, 'img', 'linked.jpg'));
    const bad = [
      { ...llavaEntry(0, 'img/does-not-exist.jpg'), id: 'bad-missing' },
      { ...llavaEntry(1, 'img/corrupt.jpg'), id: 'bad-corrupt' },
      { id: 'bad-malformed', image: files[0], conversations: 'not a list' },
      { ...llavaEntry(2, files[2]!), id: 'demo-2' },
      { ...llavaEntry(3, '../../outside.jpg'), id: 'bad-escape' },
      { ...llavaEntry(4, 'img/linked.jpg'), id: 'bad-symlink' },
    ];
    entries.splice(5, 0, ...bad);
    badEntries = bad.length;
  }
  const file = path.join(dir, 'llava.json');
  await writeFile(file, `[\n${entries.map((e) => JSON.stringify(e)).join(',\n')}\n]\n`);
  return { file, imagesRoot, entries: entries.length, badEntries };
}
