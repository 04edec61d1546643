// Public API of the text side of the engine: tokenizer, chat prompts, image-token
// expansion, streaming decode and stop criteria. The model code imports from here.

export { TextTokenizer, TOKENIZER_FILE, TOKENIZER_CONFIG_FILE, SENTENCEPIECE_FILE } from './tokenizer';
export { SentencePieceProcessor } from './sentencepiece';
export type { DecodeOptions, EncodeOptions, SpecialTokens, TokenizerLoadOptions } from './tokenizer';
export {
  renderPrompt,
  expectsContentParts,
  templateRenderOptions,
  LLAVA_15_TEMPLATE,
  LLAVA_V0_TEMPLATE,
  LLAVA_V0_SYSTEM,
  LLAVA_V0_STOP,
} from './chat-template';
export type { ChatMessage, ContentPart, PromptTemplate, RenderOptions } from './chat-template';
export { expandImageTokens } from './image-tokens';
export type { ExpandedIds, ImageSpan } from './image-tokens';
export { IncrementalDecoder } from './incremental-decoder';
export { stopCriteria, findStopString, loadGenerationEosIds, eosIdsOf, GENERATION_CONFIG_FILE } from './stop-tokens';
export type { StopCriteria } from './stop-tokens';
export { IMAGE_PLACEHOLDER, withImagePlaceholders } from './image-placeholders';
export { encodePrompt } from './encode-prompt';
export type { EncodedPrompt, EncodePromptOptions, PromptSource } from './encode-prompt';
export {
  encodeIxcPrompt,
  renderIxcPrompt,
  toIxcPlaceholders,
  ixcMultiImageQuery,
  ixcStopCriteria,
  ixcReplyText,
  IXC_IMAGE_PLACEHOLDER,
  IXC_TURN_START,
  IXC_TURN_END,
  IXC_META_INSTRUCTION,
  IMAGE_INDEX_MARKER,
} from './ixc-prompt';
export type {
  IxcEncodedPrompt,
  IxcEncodeOptions,
  IxcMultiImageStyle,
  IxcPromptSource,
  IxcRenderOptions,
  IxcSegment,
  IxcTurn,
} from './ixc-prompt';
