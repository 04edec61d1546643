// Openers that point a pic-in-pic question at the inset in the middle of the
// host image. Written for this product (the reference list is not copied);
// each is followed by `, ` and the question. Like the reference, every human
// turn of a conversation gets its own phrase (`turnPhrases`).
import type { Rng } from '../random';

export const CENTRE_PHRASES: readonly string[] = [
  'For the image in the center',
  'For the picture in the middle',
  'Looking at the inset in the center',
  'About the smaller image in the middle',
  'Considering the central inset',
  'Focusing on the picture placed in the center',
  'With respect to the middle image',
  'Concerning the image embedded in the center',
  'Turning to the central picture',
  'Regarding the inset in the middle of the image',
  'Speaking of the picture at the center',
  'As for the image placed in the middle',
  'Looking only at the center picture',
  'For the photo in the middle',
  'About the photo embedded at the center',
  'Considering just the middle inset',
  'In the smaller picture at the center',
  'Within the central inset image',
  'Paying attention to the picture in the middle',
  'Based on the image in the center',
  'Based on the inset in the middle',
  'Judging by the central photo',
  'Judging from the middle picture',
  'Referring to the picture in the center',
  'Referring to the inset image in the middle',
  'With regard to the centered inset',
  'Considering the photo placed in the center',
  'For the inset photo in the middle',
  'Taking the central image into account',
  'Observing the picture in the middle',
  'Examining the image at the center',
  'Examining the inset in the middle',
  'Inspecting the central picture',
  'In the image pasted in the middle',
  'In the picture overlaid at the center',
  'For the overlaid image in the middle',
  'About the overlaid picture in the center',
  'Considering the image laid over the center',
  'For the smaller photo in the center',
  'Looking at the inset in the middle of the image',
  'About the inner picture in the center',
  'For the inner image in the middle',
  'Focusing on the inner photo at the center',
  'Regarding the embedded picture in the middle',
  'Concerning the central photo',
  'As for the centered picture',
  'As for the inset at the center',
  'Zooming in on the middle picture',
  'Zooming in on the central inset',
  'Considering only the middle photo',
  'In the center picture',
  'In the middle inset',
  'For the centered image',
  'With attention to the center image',
  'Looking closely at the picture in the middle',
  'Looking closely at the central inset',
  'Regarding what the central image shows',
  'About what the middle picture shows',
  'Considering the content of the center inset',
  'Thinking about the image in the middle',
  'Thinking about the central photo',
  'For the picture framed in the center',
  'About the framed inset in the middle',
  'When looking at the middle image',
  'When viewing the central picture',
  'From the image in the center',
  'From the inset placed in the middle',
];

/**
 * One phrase per human turn: the plan's phrase (`first`, an index into
 * CENTRE_PHRASES) for the first turn, then a fresh uniform draw from `rng` for
 * each later turn, as the reference's `random.choice` per turn.
 */
export function turnPhrases(first: number, turns: number, rng: Rng): string[] {
  const out: string[] = [];
  for (let t = 0; t < turns; t++) out.push(CENTRE_PHRASES[t === 0 ? first : rng.int(CENTRE_PHRASES.length)] as string);
  return out;
}
