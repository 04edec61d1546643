// The demo base model's tokenizer (issue 14 item 2): a real Hugging Face
// tokenizer.json in Llama's layout (normalizer: prepend `▁`, spaces to `▁`;
// BPE; decoder: `▁` back to spaces, fuse, strip the first space; BOS through
// the post-processor), with a vocabulary sized for the demo world: every
// printable ASCII character and newline as a base symbol (anything else is
// `<unk>`), and one token per word of the world's prompts, answers and chat
// template, reached by merges that grow the word left to right from its
// leading `▁` or newline. So "A circle." is `▁A ▁circle .` and decodes back
// exactly. `<image>` and `<pad>` are added tokens after the vocabulary.
import { LLAVA_15_TEMPLATE } from '../../../engine/text/chat-template';

export const SPACE = '▁';
export const SPECIAL = { unk: '<unk>', bos: '<s>', eos: '</s>', image: '<image>', pad: '<pad>' } as const;

/**
 * The units that become single tokens: words with their leading `▁` or newline, as the normalizer leaves
 * them (added tokens such as `<image>` cut out first, as the tokenizer does). Only such units get merges,
 * so no merge can start inside a word and split its leading `▁` off.
 */
export function wordUnits(corpus: Iterable<string>): string[] {
  const units = new Set<string>();
  for (const text of corpus) {
    for (const part of text.split(SPECIAL.image)) {
      const normalized = `${SPACE}${part}`.replaceAll(' ', SPACE);
      for (const m of normalized.matchAll(/[▁\n][A-Za-z']+/g)) units.add(m[0]);
    }
  }
  return [...units].sort();
}

export interface WorldTokenizer {
  /** tokenizer.json */
  tokenizer: Record<string, unknown>;
  /** tokenizer_config.json, with the chat template. */
  config: Record<string, unknown>;
  ids: { unk: number; bos: number; eos: number; image: number; pad: number };
  /** Ids including the added tokens: the text model's vocab_size. */
  vocabSize: number;
}

const addedToken = (id: number, content: string): Record<string, unknown> => ({
  id,
  content,
  single_word: false,
  lstrip: false,
  rstrip: false,
  normalized: false,
  special: true,
});

/** The tokenizer files for a corpus of the texts the model will read and write. */
export function worldTokenizer(corpus: Iterable<string>): WorldTokenizer {
  const vocab: Record<string, number> = {};
  const add = (t: string): void => {
    if (!(t in vocab)) vocab[t] = Object.keys(vocab).length;
  };
  [SPECIAL.unk, SPECIAL.bos, SPECIAL.eos, SPACE, '\n'].forEach(add);
  for (let c = 33; c < 127; c++) add(String.fromCharCode(c));
  const merges: string[] = [];
  for (const unit of wordUnits(corpus)) {
    const chars = [...unit];
    let prefix = chars[0]!;
    for (const c of chars.slice(1)) {
      const next = prefix + c;
      if (!(next in vocab)) {
        add(next);
        merges.push(`${prefix} ${c}`);
      }
      prefix = next;
    }
  }
  const image = Object.keys(vocab).length;
  const pad = image + 1;
  const ids = { unk: 0, bos: 1, eos: 2, image, pad };
  const tokenizer = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [
      addedToken(0, SPECIAL.unk),
      addedToken(1, SPECIAL.bos),
      addedToken(2, SPECIAL.eos),
      addedToken(image, SPECIAL.image),
      addedToken(pad, SPECIAL.pad),
    ],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SPACE },
        { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: SPECIAL.bos, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: SPECIAL.bos, type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: SPECIAL.bos, type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { [SPECIAL.bos]: { id: SPECIAL.bos, ids: [1], tokens: [SPECIAL.bos] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPACE }, content: ' ' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: SPECIAL.unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: false,
      vocab,
      merges,
    },
  };
  const decoderEntry = (content: string): Record<string, unknown> => {
    const { id: _id, ...rest } = addedToken(0, content);
    return rest;
  };
  const config = {
    add_bos_token: true,
    add_eos_token: false,
    added_tokens_decoder: Object.fromEntries(
      (
        [
          [0, SPECIAL.unk],
          [1, SPECIAL.bos],
          [2, SPECIAL.eos],
          [image, SPECIAL.image],
          [pad, SPECIAL.pad],
        ] as const
      ).map(([id, t]) => [String(id), decoderEntry(t)]),
    ),
    bos_token: SPECIAL.bos,
    eos_token: SPECIAL.eos,
    unk_token: SPECIAL.unk,
    pad_token: SPECIAL.pad,
    image_token: SPECIAL.image,
    chat_template: LLAVA_15_TEMPLATE,
    clean_up_tokenization_spaces: false,
    legacy: true,
    model_max_length: 512,
    padding_side: 'left',
    processor_class: 'LlavaProcessor',
    tokenizer_class: 'LlamaTokenizerFast',
  };
  return { tokenizer, config, ids, vocabSize: pad + 1 };
}
