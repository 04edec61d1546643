// Benchmark reading (issue 10, item 1): every image form of a VLMEvalKit TSV,
// JSON/JSONL items, broken rows as problems naming their index, prompt
// building as VLMEvalKit's LLaVA prompt, answer extraction as its can_infer,
// and a property: the TSV reader returns problems for any text, never throws.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readBenchJson, readBenchTsv } from '../../../../electron/pipeline/eval/bench-read';
import { extractAnswer, inferOption, inferYesNo } from '../../../../electron/pipeline/eval/extract';
import { buildPrompt } from '../../../../electron/pipeline/eval/prompt';
import { parseListCell, parseTsv } from '../../../../electron/pipeline/eval/tsv';
import { BENCH_PROBLEM_REASONS } from '../../../../shared/pipeline/eval';

// Not real images: reading only checks the base64 shape; decoding is the importer's (bench-import.test.ts).
const B1 = 'iVBORw0KGgo' + 'A'.repeat(80);
const B2 = '/9j/4AAQSkZJRg' + 'B'.repeat(80);

const tsv = (rows: string[][]): string => rows.map((r) => r.join('\t')).join('\n') + '\n';
const HEAD = ['index', 'question', 'hint', 'A', 'B', 'C', 'D', 'answer', 'category', 'image'];

describe('TSV text', () => {
  it('reads quoted fields with tabs, newlines and doubled quotes, and CRLF lines', () => {
    const t = parseTsv('a\tb\r\n"x\ty"\t"say ""hi""\nthere"\r\n');
    expect(t.header).toEqual(['a', 'b']);
    expect(t.records).toEqual([{ line: 2, fields: ['x\ty', 'say "hi"\nthere'] }]);
  });

  it('parses Python and JSON list cells, and refuses other text', () => {
    expect(parseListCell(`['a', "b'c", 'd\\'e']`)).toEqual(['a', "b'c", "d'e"]);
    expect(parseListCell('["a","b"]')).toEqual(['a', 'b']);
    expect(parseListCell('[]')).toEqual([]);
    expect(parseListCell("['a', 'b'")).toBeNull();
    expect(parseListCell('[1, 2]')).toBeNull();
    expect(parseListCell("['a' 'b']")).toBeNull();
    expect(parseListCell('abc')).toBeNull();
  });
});

describe('readBenchTsv', () => {
  it('reads a single base64 image, a Python list, a JSON list and a reference to another row', () => {
    const r = readBenchTsv(
      tsv([
        HEAD,
        ['1', 'What colour?', '', 'red', 'green', '', '', 'A', 'colour', B1],
        ['2', 'Which differs?', 'Look closely', 'left', 'right', 'both', '', 'C', 'diff', `['${B1}', '${B2}']`],
        ['3', 'Same?', '', '', '', '', '', 'yes', '', `["${B2}", "${B1}", "${B2}"]`],
        ['4', 'How many cats?', '', '', '', '', '', '2', 'count', '1'],
      ]),
    );
    expect(r.problems).toEqual([]);
    expect(r.items.map((i) => [i.index, i.kind, i.answer, i.category, i.images.map((x) => x.kind)])).toEqual([
      ['1', 'mcq', 'A', 'colour', ['base64']],
      ['2', 'mcq', 'C', 'diff', ['base64', 'base64']],
      ['3', 'yesno', 'Yes', 'uncategorized', ['base64', 'base64', 'base64']],
      ['4', 'short', '2', 'count', ['ref']],
    ]);
    expect(r.items[1]!.images).toEqual([
      { kind: 'base64', data: B1 },
      { kind: 'base64', data: B2 },
    ]);
    expect(r.items[1]!.hint).toBe('Look closely');
    expect(r.items[3]!.images).toEqual([{ kind: 'ref', index: '1' }]);
  });

  it('reads image_path as one path or a list', () => {
    const r = readBenchTsv(
      tsv([
        ['index', 'question', 'A', 'B', 'answer', 'image_path'],
        ['a', 'Q1', 'x', 'y', 'B', 'imgs/1.png'],
        ['b', 'Q2', 'x', 'y', 'y', "['imgs/1.png', 'imgs/2.jpg']"],
      ]),
    );
    expect(r.problems).toEqual([]);
    expect(r.items.map((i) => i.images)).toEqual([
      [{ kind: 'path', path: 'imgs/1.png' }],
      [
        { kind: 'path', path: 'imgs/1.png' },
        { kind: 'path', path: 'imgs/2.jpg' },
      ],
    ]);
    // An answer written as the option's text is stored as its letter.
    expect(r.items[1]!.answer).toBe('B');
  });

  it('lists broken rows with their index and reason and imports the rest', () => {
    const r = readBenchTsv(
      tsv([
        HEAD,
        ['10', 'ok', '', 'a', 'b', '', '', 'B', 'c', B1],
        ['11', 'bad b64', '', 'a', 'b', '', '', 'A', 'c', 'not base64 at all! ' + 'x'.repeat(60)],
        ['12', 'no answer', '', 'a', 'b', '', '', '', 'c', B1],
        ['13', 'letter E', '', 'a', 'b', '', '', 'E', 'c', B1],
        ['14', 'gap', '', 'a', '', 'c', '', 'A', 'c', B1],
        ['15', '', '', 'a', 'b', '', '', 'A', 'c', B1],
        ['10', 'dup', '', 'a', 'b', '', '', 'A', 'c', B1],
        ['16', 'short row'],
        ['17', 'no image', '', 'a', 'b', '', '', 'A', 'c', ''],
        ['18', 'dangling ref', '', 'a', 'b', '', '', 'A', 'c', '99'],
        ['19', 'empty list', '', 'a', 'b', '', '', 'A', 'c', '[]'],
      ]),
    );
    expect(r.items.map((i) => i.index)).toEqual(['10']);
    expect(r.problems.map((p) => [p.index, p.row, p.reason])).toEqual([
      ['11', 2, 'bad-image'],
      ['12', 3, 'missing-answer'],
      ['13', 4, 'bad-answer'],
      ['14', 5, 'bad-options'],
      ['15', 6, 'missing-question'],
      ['10', 7, 'duplicate-index'],
      ['16', 8, 'malformed-row'],
      ['17', 9, 'no-image'],
      ['18', 10, 'bad-image'],
      ['19', 11, 'bad-image'],
    ]);
    expect(r.problems.find((p) => p.index === '13')!.message).toContain('A, B');
  });

  it('names missing columns in one problem', () => {
    expect(readBenchTsv('index\tquestion\n1\tq\n').problems).toEqual([
      expect.objectContaining({ reason: 'malformed-row', message: expect.stringContaining('answer') }),
    ]);
  });

  it('returns typed problems for any text, never throws (property)', () => {
    const cell = fc.oneof(
      fc.string(),
      fc.constantFrom('', 'A', 'yes', '"', '""', '[', "['x'", '["a",', B1, `['${B1}']`, '\t', '\n', '\r\n'),
    );
    const table = fc
      .array(fc.array(cell, { minLength: 1, maxLength: 11 }), { maxLength: 6 })
      .map((rows) => tsv([HEAD, ...rows]));
    fc.assert(
      fc.property(fc.oneof(fc.string(), table), (text) => {
        const r = readBenchTsv(text);
        for (const p of r.problems) {
          expect(BENCH_PROBLEM_REASONS).toContain(p.reason);
          expect(p.index.length).toBeGreaterThan(0);
          expect(p.row).toBeGreaterThan(0);
        }
        for (const i of r.items) expect(i.images.length).toBeGreaterThan(0);
      }),
      { numRuns: 400 },
    );
  });
});

describe('readBenchJson', () => {
  it('reads JSONL and JSON arrays with option lists and objects, and flags bad lines', () => {
    const jsonl = [
      JSON.stringify({ id: 'q1', question: 'Q?', options: ['cat', 'dog'], answer: 'B', images: ['a.png', 'b.png'] }),
      'not json',
      JSON.stringify({ question: 'Q2?', options: { A: 'x', B: 'y' }, answer: 'x', images: ['a.png'], category: 'k' }),
      JSON.stringify({ question: 'Q3?', answer: 'No', images: 'a.png' }),
      JSON.stringify({ question: 'Q4?', answer: 'A', options: ['x'], images: [3] }),
      JSON.stringify([1]),
    ].join('\n');
    const r = readBenchJson(jsonl, 'jsonl');
    expect(r.items.map((i) => [i.index, i.kind, i.answer, i.images.length, i.category])).toEqual([
      ['q1', 'mcq', 'B', 2, 'uncategorized'],
      ['2', 'mcq', 'A', 1, 'k'],
      ['3', 'yesno', 'No', 1, 'uncategorized'],
    ]);
    expect(r.problems.map((p) => [p.index, p.row, p.reason])).toEqual([
      ['1', 2, 'malformed-row'],
      ['4', 5, 'missing-image'],
      ['5', 6, 'malformed-row'],
    ]);
    expect(readBenchJson('{"a":1}', 'json').problems[0]!.message).toContain('not a JSON array');
    expect(
      readBenchJson(JSON.stringify([{ question: 'q', answer: 'a', images: ['x.png'] }]), 'json').items,
    ).toHaveLength(1);
  });
});

describe('prompt building', () => {
  const options = [
    { letter: 'A', text: 'red' },
    { letter: 'B', text: 'blue' },
  ];
  it('lists several images as Image{i} lines, then hint, question, options and the instruction', () => {
    expect(buildPrompt({ question: 'Which is red?', hint: 'Two pictures.', options, kind: 'mcq', imageCount: 2 })).toBe(
      "Image1:<image>\nImage2:<image>\nTwo pictures.\nWhich is red?\nA. red\nB. blue\nAnswer with the option's letter from the given choices directly.",
    );
  });
  it('puts one <image> line for one image and leaves placed images alone', () => {
    expect(buildPrompt({ question: 'Is it a cat?', hint: null, options: [], kind: 'yesno', imageCount: 1 })).toBe(
      '<image>\nIs it a cat?\nPlease answer yes or no.',
    );
    expect(
      buildPrompt({ question: '<image> vs <image>: same?', hint: null, options: [], kind: 'short', imageCount: 2 }),
    ).toBe('<image> vs <image>: same?\nAnswer the question using a single word or phrase.');
  });
});

describe('answer extraction', () => {
  const options = [
    { letter: 'A', text: 'a red car' },
    { letter: 'B', text: 'blue' },
    { letter: 'C', text: 'green' },
  ];
  it('takes one option letter among the words, else one option text', () => {
    expect(inferOption('B', options)).toBe('B');
    expect(inferOption('(C) green.', options)).toBe('C');
    expect(inferOption('The answer is B.', options)).toBe('B');
    expect(inferOption('A or B', options)).toBeNull();
    expect(inferOption('It is blue', options)).toBe('B');
    expect(inferOption('blue and green', options)).toBeNull();
    expect(inferOption('no idea', options)).toBeNull();
  });
  it('reads yes/no and scores short answers after normalisation', () => {
    expect(inferYesNo('Yes, it is.')).toBe('Yes');
    expect(inferYesNo('no')).toBe('No');
    expect(inferYesNo('yes and no')).toBeNull();
    expect(extractAnswer('The Eiffel tower.', { kind: 'short', options: [], answer: 'eiffel tower' })).toEqual({
      prediction: 'eiffel tower',
      correct: true,
    });
    expect(extractAnswer('A', { kind: 'mcq', options, answer: 'B' })).toEqual({ prediction: 'A', correct: false });
  });
});
