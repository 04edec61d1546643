// Tiny random llava-hf model folders for tests: the tests' names for the
// production writer in electron/engine/models/random-checkpoint.ts (which the
// demo uses too), kept so that existing tests read unchanged.
export {
  RANDOM_LLAVA as TINY_LLAVA,
  nestedName,
  randomLlavaConfig as tinyLlavaConfig,
  randomLlavaShapes as tinyLlavaShapes,
  writeRandomLlava as writeTinyLlava,
  type RandomLlava as TinyLlava,
  type RandomLlavaOptions as TinyLlavaOptions,
  type RandomTensor as TinyTensor,
} from '../../electron/engine/models/random-checkpoint';
