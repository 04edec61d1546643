// Vega-Lite spec -> SVG -> PNG without a browser or the machine's fonts.
// Vega lays text out with widths measured from the bundled DejaVu Sans, and
// every <text> of its SVG becomes that font's glyph outlines as a <path>, so
// librsvg (sharp) draws the same figure on a machine without fonts (a bare CI
// image) as here, and the SVG shows the same in any viewer (decision 0820).
import sharp from 'sharp';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { AppError } from '../../../shared/errors';
import { BUNDLED_FONT, loadFont } from '../composite/label';
import type { Font, Outline } from '../composite/font/truetype';

const font = (): Font => loadFont(BUNDLED_FONT);

/** Glyph of a character, the font's '?' for one it lacks. */
function glyphOf(f: Font, ch: string): number {
  return f.glyphIndex(ch.codePointAt(0) as number) || f.glyphIndex(63);
}

/** Text width in pixels at `px` (advances, no kerning: as drawn by `textPath`). */
export function textWidth(text: string, px: number): number {
  const f = font();
  let units = 0;
  for (const ch of text) units += f.advance(glyphOf(f, ch));
  return (units * px) / f.unitsPerEm;
}

/** vega re-exports vega-scenegraph's text metrics at runtime; its typings leave them out. */
interface TextItem {
  text?: unknown;
  fontSize?: number;
}
const scenegraph = vega as unknown as {
  textMetrics: { width: (item: TextItem, text?: unknown) => number };
  fontSize: (item: TextItem) => number;
};

let measuring = false;
/** Vega measures text with our font (the default estimate is a fixed width per character). */
function useFontMetrics(): void {
  if (measuring) return;
  scenegraph.textMetrics.width = (item, text) => {
    const t = text ?? item.text;
    return textWidth(Array.isArray(t) ? t.join(' ') : String(t ?? ''), scenegraph.fontSize(item));
  };
  measuring = true;
}

const n = (v: number) => Number(v.toFixed(1));

/** One glyph outline as SVG path data in font units (y up), offset by `dx`; on/off-curve points as TrueType quads. */
function outlinePath(outline: Outline, dx: number): string {
  const parts: string[] = [];
  for (const contour of outline) {
    const len = contour.length;
    if (len === 0) continue;
    let startIdx = contour.findIndex((p) => p.onCurve);
    const first = contour[startIdx === -1 ? 0 : startIdx]!;
    const last = contour[len - 1]!;
    const start = startIdx === -1 ? { x: (first.x + last.x) / 2, y: (first.y + last.y) / 2 } : first;
    if (startIdx === -1) startIdx = len - 1;
    parts.push(`M${n(start.x + dx)} ${n(start.y)}`);
    let ctrl: { x: number; y: number } | null = null;
    for (let k = 1; k <= len; k++) {
      const p = contour[(startIdx + k) % len]!;
      if (p.onCurve) {
        parts.push(ctrl ? `Q${n(ctrl.x + dx)} ${n(ctrl.y)} ${n(p.x + dx)} ${n(p.y)}` : `L${n(p.x + dx)} ${n(p.y)}`);
        ctrl = null;
      } else if (ctrl) {
        const mid = { x: (ctrl.x + p.x) / 2, y: (ctrl.y + p.y) / 2 };
        parts.push(`Q${n(ctrl.x + dx)} ${n(ctrl.y)} ${n(mid.x + dx)} ${n(mid.y)}`);
        ctrl = p;
      } else ctrl = p;
    }
    if (ctrl) parts.push(`Q${n(ctrl.x + dx)} ${n(ctrl.y)} ${n(start.x + dx)} ${n(start.y)}`);
    parts.push('Z');
  }
  return parts.join('');
}

/** A line of text as `<use>`s of glyph outlines (font units, pen from 0), the glyphs it needs, and its advance. */
function textGlyphs(text: string, used: Set<number>): { uses: string; advance: number } {
  const f = font();
  let pen = 0;
  let uses = '';
  for (const ch of text) {
    const g = glyphOf(f, ch);
    if (f.outline(g).length > 0) {
      used.add(g);
      uses += `<use href="#glyph-${g}" x="${n(pen)}"/>`;
    }
    pen += f.advance(g);
  }
  return { uses, advance: pen };
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const unescape = (s: string) =>
  s.replace(/&(lt|gt|amp|quot|apos|#(\d+)|#x([0-9a-f]+));/gi, (_, name: string, dec?: string, hex?: string) =>
    dec ? String.fromCodePoint(Number(dec)) : hex ? String.fromCodePoint(parseInt(hex, 16)) : ENTITIES[name]!,
  );
const attr = (attrs: string, name: string): string | undefined =>
  new RegExp(`(?:^|\\s)${name}="([^"]*)"`).exec(attrs)?.[1];

/** The lines of a text element's body: plain text, or Vega's `<tspan>` per line with a `dy` in pixels. */
function linesOf(body: string): { text: string; dy: number }[] {
  if (!body.includes('<')) return [{ text: unescape(body), dy: 0 }];
  const lines: { text: string; dy: number }[] = [];
  const rest = body.replace(/<tspan([^>]*)>([^<]*)<\/tspan>/g, (_, attrs: string, text: string) => {
    lines.push({ text: unescape(text), dy: parseFloat(attr(attrs, 'dy') ?? '0') });
    return '';
  });
  if (rest.trim() !== '') throw new AppError('internal', `figure text with markup Vega does not write: ${body}`);
  return lines;
}

/**
 * Every `<text>` of a Vega SVG as the bundled font's glyph outlines, one group
 * per line (`<use>`s of glyphs defined once in `<defs>`): same anchor,
 * transform, size, fill, stroke and opacity; bold is a thin stroke of the
 * fill colour (one face is bundled). The text stays readable in each group's aria-label.
 */
export function textToPaths(svg: string): string {
  const f = font();
  const used = new Set<number>();
  const drawn = svg.replace(/<text([^>]*)>([\s\S]*?)<\/text>/g, (_, attrs: string, body: string) => {
    const px = parseFloat(attr(attrs, 'font-size') ?? '11');
    const scale = px / f.unitsPerEm;
    const anchor = attr(attrs, 'text-anchor') ?? 'start';
    const fill = attr(attrs, 'fill') ?? '#000';
    const opacity = attr(attrs, 'opacity');
    const bold = (attr(attrs, 'font-weight') ?? '') === 'bold';
    // A stroke Vega asked for (a halo) is in pixels; the glyphs are drawn in font units.
    const stroke = attr(attrs, 'stroke');
    const strokePx = parseFloat(attr(attrs, 'stroke-width') ?? '1');
    const style = [
      `fill="${fill}"`,
      ...(opacity === undefined ? [] : [`opacity="${opacity}"`]),
      ...(stroke !== undefined
        ? [`stroke="${stroke}" stroke-width="${n(strokePx / scale)}" stroke-linejoin="round"`]
        : bold
          ? [`stroke="${fill}" stroke-width="${n(0.045 * f.unitsPerEm)}" stroke-linejoin="round"`]
          : []),
    ].join(' ');
    let y = 0;
    return linesOf(body)
      .map(({ text, dy }) => {
        y += dy;
        const { uses, advance } = textGlyphs(text, used);
        const shift = anchor === 'middle' ? -advance / 2 : anchor === 'end' ? -advance : 0;
        const place = `${attr(attrs, 'transform') ?? ''} translate(0 ${n(y)}) scale(${scale} ${-scale})`;
        const label = text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
        return `<g role="img" aria-label="${label}" transform="${place.trim()} translate(${n(shift)} 0)" ${style}>${uses}</g>`;
      })
      .join('');
  });
  if (used.size === 0) return drawn;
  const defs = [...used].map((g) => `<path id="glyph-${g}" d="${outlinePath(f.outline(g), 0)}"/>`).join('');
  return drawn.replace(/<svg[^>]*>/, (open) => `${open}<defs>${defs}</defs>`);
}

/**
 * Characters XML 1.0 does not allow (C0 controls other than tab and newlines) as U+FFFD: model answers may hold
 * them (a byte-fallback tokenizer decodes any byte), and Vega writes text into attributes unchanged, which would make
 * the SVG unreadable.
 */
// eslint-disable-next-line no-control-regex -- matching the control characters is the point
export const xmlChars = (svg: string): string => svg.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '\ufffd');

/** The SVG of a Vega-Lite spec, text drawn as paths. */
export async function specToSvg(spec: TopLevelSpec): Promise<string> {
  useFontMetrics();
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return textToPaths(xmlChars(await view.toSVG()));
  } finally {
    view.finalize();
  }
}

/** The SVG rasterized at `scale` (2: a sharp figure for a paper or a high-density screen). */
export async function svgToPng(svg: string, scale = 2): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: 72 * scale })
    .flatten({ background: '#ffffff' })
    .png()
    .toBuffer();
}
