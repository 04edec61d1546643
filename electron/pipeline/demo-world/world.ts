// The demo world of ../shared/DEMO-WORLD.md as data (issue 14, item 1): its
// attributes and their values, a scene (one flat-coloured object on a plain
// background), the questions and answer strings, and the seeded split of the
// 720 scenes into training scenes and held-out scenes. Pure: ./render.ts draws
// a scene, ./plan.ts draws samples and benchmark items, ./write.ts writes them.
import { createRng, shuffled } from '../random';

export type Rgb = readonly [number, number, number];

export const CANVAS = 112;

export const SHAPES = ['circle', 'square', 'triangle', 'cross'] as const;
export const COLOURS = ['red', 'green', 'blue', 'yellow', 'purple', 'orange'] as const;
export const SIZES = ['small', 'large'] as const;
export const POSITIONS = ['top-left', 'top-right', 'bottom-left', 'bottom-right', 'centre'] as const;
export const BACKGROUNDS = ['white', 'grey', 'cream'] as const;

export type Shape = (typeof SHAPES)[number];
export type Colour = (typeof COLOURS)[number];
export type Size = (typeof SIZES)[number];
export type Position = (typeof POSITIONS)[number];
export type Background = (typeof BACKGROUNDS)[number];

export const COLOUR_RGB: Record<Colour, Rgb> = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [240, 210, 40],
  purple: [140, 60, 180],
  orange: [245, 140, 30],
};

export const BACKGROUND_RGB: Record<Background, Rgb> = {
  white: [255, 255, 255],
  grey: [220, 220, 220],
  cream: [245, 235, 210],
};

/** The side d of the object's bounding box. */
export const SIZE_PX: Record<Size, number> = { small: 28, large: 52 };

/** The bounding-box centre (x, y). */
export const POSITION_XY: Record<Position, readonly [number, number]> = {
  'top-left': [28, 28],
  'top-right': [84, 28],
  'bottom-left': [28, 84],
  'bottom-right': [84, 84],
  centre: [56, 56],
};

export interface Scene {
  shape: Shape;
  colour: Colour;
  size: Size;
  position: Position;
  background: Background;
}

/** What a question asks about; the background is never asked. */
export const ATTRIBUTES = ['shape', 'colour', 'position', 'size'] as const;
export type Attribute = (typeof ATTRIBUTES)[number];

export const ATTRIBUTE_VALUES: { [A in Attribute]: readonly Scene[A][] } = {
  shape: SHAPES,
  colour: COLOURS,
  position: POSITIONS,
  size: SIZES,
};

/** The canonical questions of DEMO-WORLD.md. */
export const QUESTIONS: Record<Attribute, string> = {
  shape: 'What shape is in the image?',
  colour: 'What colour is the shape?',
  position: 'Where is the shape?',
  size: 'Is the shape large or small?',
};

const POSITION_ANSWERS: Record<Position, string> = {
  'top-left': 'Top left.',
  'top-right': 'Top right.',
  'bottom-left': 'Bottom left.',
  'bottom-right': 'Bottom right.',
  centre: 'In the centre.',
};

const capitalised = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

/** The answer string of an attribute's value: "A circle.", "Red.", "Top left.", "Large.". */
export function answerText(attribute: Attribute, value: string): string {
  if (attribute === 'shape') return `A ${value}.`;
  if (attribute === 'position') return POSITION_ANSWERS[value as Position];
  return `${capitalised(value)}.`;
}

/** A scene's name, also its image's file name: `circle-red-small-top-left-white`. */
export function sceneId(s: Scene): string {
  return `${s.shape}-${s.colour}-${s.size}-${s.position}-${s.background}`;
}

const ID_PATTERN = new RegExp(
  `^(${SHAPES.join('|')})-(${COLOURS.join('|')})-(${SIZES.join('|')})-(${POSITIONS.join('|')})-(${BACKGROUNDS.join('|')})$`,
);

/** The scene a name describes; null for a name that is not a scene's. */
export function parseSceneId(id: string): Scene | null {
  const m = ID_PATTERN.exec(id);
  if (!m) return null;
  return {
    shape: m[1] as Shape,
    colour: m[2] as Colour,
    size: m[3] as Size,
    position: m[4] as Position,
    background: m[5] as Background,
  };
}

/** Every scene of the world (4 x 6 x 2 x 5 x 3 = 720), in a fixed order. */
export function allScenes(): Scene[] {
  const out: Scene[] = [];
  for (const shape of SHAPES)
    for (const colour of COLOURS)
      for (const size of SIZES)
        for (const background of BACKGROUNDS)
          for (const position of POSITIONS) out.push({ shape, colour, size, position, background });
  return out;
}

export interface WorldSplit {
  /** 576 scenes the training data may show. */
  train: Scene[];
  /** 144 scenes only the benchmarks show. */
  heldOut: Scene[];
}

/**
 * One scene in five is held out: for each of the 144 combinations of shape,
 * colour, size and background, exactly one position, given by a seeded
 * shuffle of the combinations dealt round the five positions. So every held-out
 * scene is a new image whose every attribute value (and every combination
 * but its position) the training data shows, and the held-out set is balanced
 * exactly in shape, colour, size and background and within one in position.
 */
export function splitWorld(seed: number): WorldSplit {
  const rng = createRng(`demo-world/split/${seed}`);
  const combos: Omit<Scene, 'position'>[] = [];
  for (const shape of SHAPES)
    for (const colour of COLOURS)
      for (const size of SIZES) for (const background of BACKGROUNDS) combos.push({ shape, colour, size, background });
  const heldOutIds = new Set<string>();
  const firstPosition = rng.int(POSITIONS.length);
  shuffled(rng, combos).forEach((c, i) => {
    const position = POSITIONS[(firstPosition + i) % POSITIONS.length]!;
    heldOutIds.add(sceneId({ ...c, position }));
  });
  const scenes = allScenes();
  return {
    train: scenes.filter((s) => !heldOutIds.has(sceneId(s))),
    heldOut: scenes.filter((s) => heldOutIds.has(sceneId(s))),
  };
}
