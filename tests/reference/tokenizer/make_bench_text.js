// ~1 MB of mixed text for the tokenizer benchmark: the valid strings of the test corpus,
// concatenated with newlines until the size is reached. Usage: node make_bench_text.js OUT [BYTES]
'use strict';
const fs = require('fs');
const { execFileSync } = require('child_process');
const path = require('path');
const out = process.argv[2];
const target = Number(process.argv[3] || 1 << 20);
const tmp = out + '.corpus.hex';
execFileSync(process.execPath, [path.join(__dirname, 'make_corpus.js'), tmp, '20000']);
const dec = new TextDecoder('utf-8', { fatal: true });
const parts = [];
let size = 0;
for (const line of fs.readFileSync(tmp, 'utf8').split('\n')) {
  let s;
  try { s = dec.decode(Buffer.from(line, 'hex')); } catch { continue; }
  parts.push(s);
  size += Buffer.byteLength(s) + 1;
  if (size >= target) break;
}
fs.writeFileSync(out, parts.join('\n'));
fs.unlinkSync(tmp);
