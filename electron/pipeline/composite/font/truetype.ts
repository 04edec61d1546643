// A minimal TrueType reader: metrics, the Unicode cmap (format 4) and glyph
// outlines (simple and composite) from `glyf`. Enough to draw `Image{n}`
// labels from the bundled font without Pango or fontconfig, whose hinting
// and font matching follow the machine's configuration.
import { AppError } from '../../../../shared/errors';

export interface Point {
  x: number;
  y: number;
  onCurve: boolean;
}

/** Contours in font units, y up. */
export type Outline = Point[][];

export interface Font {
  unitsPerEm: number;
  ascender: number;
  descender: number;
  glyphIndex(codePoint: number): number;
  advance(glyph: number): number;
  outline(glyph: number): Outline;
}

export function parseFont(bytes: Uint8Array, name = 'font'): Font {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tables = new Map<string, number>();
  const numTables = view.getUint16(4);
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + i * 16;
    const tag = String.fromCharCode(bytes[rec]!, bytes[rec + 1]!, bytes[rec + 2]!, bytes[rec + 3]!);
    tables.set(tag, view.getUint32(rec + 8));
  }
  const table = (tag: string): number => {
    const off = tables.get(tag);
    if (off === undefined)
      throw new AppError('bad-file', `${name}: TrueType table '${tag}' is missing`, { subject: name });
    return off;
  };
  const head = table('head');
  const hhea = table('hhea');
  const hmtx = table('hmtx');
  const loca = table('loca');
  const glyf = table('glyf');
  const unitsPerEm = view.getUint16(head + 18);
  const longLoca = view.getInt16(head + 50) === 1;
  const numHMetrics = view.getUint16(hhea + 34);
  const cmap = findUnicodeCmap(view, table('cmap'), name);

  const glyphRange = (g: number): [number, number] =>
    longLoca
      ? [view.getUint32(loca + g * 4), view.getUint32(loca + g * 4 + 4)]
      : [view.getUint16(loca + g * 2) * 2, view.getUint16(loca + g * 2 + 2) * 2];

  const outline = (g: number, depth = 0): Outline => {
    const [start, end] = glyphRange(g);
    if (end <= start) return [];
    const at = glyf + start;
    const contours = view.getInt16(at);
    if (contours >= 0) return simpleGlyph(view, at, contours);
    if (depth > 8) throw new AppError('bad-file', `${name}: composite glyph ${g} nests too deep`, { subject: name });
    return compositeGlyph(view, at, (sub) => outline(sub, depth + 1));
  };

  return {
    unitsPerEm,
    ascender: view.getInt16(hhea + 4),
    descender: view.getInt16(hhea + 6),
    glyphIndex: (cp) => cmap(cp),
    advance: (g) => view.getUint16(hmtx + Math.min(g, numHMetrics - 1) * 4),
    outline: (g) => outline(g),
  };
}

/** Format-4 subtable of (3,1) Windows Unicode BMP or (0,x) Unicode. */
function findUnicodeCmap(view: DataView, cmap: number, name: string): (cp: number) => number {
  const n = view.getUint16(cmap + 2);
  for (let i = 0; i < n; i++) {
    const platform = view.getUint16(cmap + 4 + i * 8);
    const encoding = view.getUint16(cmap + 6 + i * 8);
    const sub = cmap + view.getUint32(cmap + 8 + i * 8);
    if (!((platform === 3 && encoding === 1) || platform === 0) || view.getUint16(sub) !== 4) continue;
    const segs = view.getUint16(sub + 6) / 2;
    const ends = sub + 14;
    const starts = ends + segs * 2 + 2;
    const deltas = starts + segs * 2;
    const ranges = deltas + segs * 2;
    return (cp) => {
      for (let s = 0; s < segs; s++) {
        if (cp > view.getUint16(ends + s * 2)) continue;
        const first = view.getUint16(starts + s * 2);
        if (cp < first) return 0;
        const delta = view.getInt16(deltas + s * 2);
        const ro = view.getUint16(ranges + s * 2);
        if (ro === 0) return (cp + delta) & 0xffff;
        const g = view.getUint16(ranges + s * 2 + ro + (cp - first) * 2);
        return g === 0 ? 0 : (g + delta) & 0xffff;
      }
      return 0;
    };
  }
  throw new AppError('unsupported', `${name}: no Unicode cmap (format 4)`, { subject: name });
}

function simpleGlyph(view: DataView, at: number, contours: number): Outline {
  const endPts: number[] = [];
  for (let i = 0; i < contours; i++) endPts.push(view.getUint16(at + 10 + i * 2));
  const count = (endPts[endPts.length - 1] ?? -1) + 1;
  let p = at + 10 + contours * 2;
  p += 2 + view.getUint16(p); // skip hinting instructions
  const flags: number[] = [];
  while (flags.length < count) {
    const f = view.getUint8(p++);
    flags.push(f);
    if (f & 8) for (let r = view.getUint8(p++); r > 0; r--) flags.push(f);
  }
  const coords = (short: number, same: number): number[] => {
    const out: number[] = [];
    let v = 0;
    for (const f of flags) {
      if (f & short) v += (f & same ? 1 : -1) * view.getUint8(p++);
      else if (!(f & same)) {
        v += view.getInt16(p);
        p += 2;
      }
      out.push(v);
    }
    return out;
  };
  const xs = coords(2, 16);
  const ys = coords(4, 32);
  const out: Outline = [];
  let first = 0;
  for (const last of endPts) {
    const contour: Point[] = [];
    for (let i = first; i <= last; i++) contour.push({ x: xs[i]!, y: ys[i]!, onCurve: (flags[i]! & 1) === 1 });
    out.push(contour);
    first = last + 1;
  }
  return out;
}

/** Components placed by x/y offsets and optional scale or 2x2 matrix (point-matching anchors unsupported). */
function compositeGlyph(view: DataView, at: number, outlineOf: (g: number) => Outline): Outline {
  const out: Outline = [];
  let p = at + 10;
  for (;;) {
    const flags = view.getUint16(p);
    const glyph = view.getUint16(p + 2);
    p += 4;
    const words = (flags & 1) !== 0;
    const dx = words ? view.getInt16(p) : view.getInt8(p);
    const dy = words ? view.getInt16(p + 2) : view.getInt8(p + 1);
    p += words ? 4 : 2;
    let [a, b, c, d] = [1, 0, 0, 1];
    const f2dot14 = (o: number): number => view.getInt16(o) / 16384;
    if (flags & 8) {
      a = d = f2dot14(p);
      p += 2;
    } else if (flags & 0x40) {
      a = f2dot14(p);
      d = f2dot14(p + 2);
      p += 4;
    } else if (flags & 0x80) {
      [a, b, c, d] = [f2dot14(p), f2dot14(p + 2), f2dot14(p + 4), f2dot14(p + 6)];
      p += 8;
    }
    if (!(flags & 2))
      throw new AppError('unsupported', `composite glyph anchored by point numbers (component ${glyph})`);
    for (const contour of outlineOf(glyph))
      out.push(
        contour.map((pt) => ({ x: a * pt.x + c * pt.y + dx, y: b * pt.x + d * pt.y + dy, onCurve: pt.onCurve })),
      );
    if (!(flags & 0x20)) return out;
  }
}
