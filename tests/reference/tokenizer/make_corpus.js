// Deterministic tokenizer test corpus: one hex-encoded byte string per line. Mixes English,
// Chinese, Japanese, Korean, code, digit runs, whitespace/newline runs, emoji (ZWJ, flags,
// skin tones), accents and combining marks, special tokens inside text, and invalid UTF-8.
// Usage: node make_corpus.js OUT_FILE [COUNT]
'use strict';
const fs = require('fs');

let state = 0x5eed;
function rand() {  // mulberry32
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rand() * a.length)];
const int = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));

const english = [
  'Hello, world!', "The quick brown fox jumps over the lazy dog.", "It's what we've said: they'll go, I'd stay.",
  'DeepSeek-V3 uses Multi-head Latent Attention (MLA).', 'e-mail: someone@example.com; URL: https://api.deepseek.com/v1/chat',
  'HELLO World hello WORLD', "Don't STOP; won't've y'all'd've", 'naïve café résumé coöperate façade', 'Ångström Øresund ß straße',
  'A long time ago...', "It'ſ K'K 'S 'LL 'Ve — case-folding traps", '"Quoted" and \'single\' and `backticks`', '(parentheses) [brackets] {braces} <angles>',
  '$100.00 + 20% = €120,5 — ¿qué? ¡sí!', 'Mr. Smith—the CEO—said: “No.”', 'tab\tseparated\tvalues', 'path/to/file_name.txt',
];
const chinese = [
  '你好，世界！', '深度求索发布了新的大语言模型。', '我们今天学习机器学习和自然语言处理。', '中文标点：，。！？；：“”‘’（）《》',
  '北京市海淀区中关村大街1号', '人工智能将改变世界', '繁體中文測試：這是一個句子。', '數學公式 E=mc²',
];
const japanese = [
  'こんにちは世界', 'カタカナとひらがなと漢字が混ざった文章です。', '東京は日本の首都です。', 'ラーメンを食べたい！', 'ｶﾀｶﾅ半角',
];
const korean = ['안녕하세요 세계', '한국어 문장을 토큰화합니다.', '서울특별시'];
const other = ['Привет, мир!', 'Γειά σου Κόσμε', 'مرحبا بالعالم', 'שלום עולם', 'नमस्ते दुनिया', 'สวัสดีชาวโลก', 'Xin chào thế giới', 'Türkçe ğüşiöç',
  "\u{31404}'D \u{31DD4}'s \u{2EBF0}x" /* CJK Ext H/I: letters since Unicode 15 */];
const code = [
  'def fib(n):\n    return n if n < 2 else fib(n-1) + fib(n-2)\n',
  'int main(int argc, char** argv) {\n  printf("%d\\n", argc);\n  return 0;\n}\n',
  'const x = (a, b) => a ?? b; // nullish\n', 'SELECT id, name FROM users WHERE age >= 18 ORDER BY name;',
  '<div class="row"><span>&nbsp;&amp;</span></div>', '{"key": [1, 2.5, -3e10, true, null]}', 'fn main() { let v: Vec<u8> = vec![0xff; 16]; }',
  '#include <vector>\nstd::vector<int> v{1,2,3};', '    if (x) {\n        y++;\n    }\n', 'a_b_c __init__ self.__dict__ x->y::z',
  '$ ls -la | grep "*.cc" && echo $?', '\t\tindented with tabs\n', 'λx.λy.x ∀x∈ℝ: x² ≥ 0 ∑ᵢ aᵢ',
];
const digits = ['1234567890', '3.14159265358979', '2024-11-28', '000000', '1,000,000', '12345678901234567890123', '٣٤٥ ١٢', '①②③ Ⅻ ½ ¾', '0x7fffffff', '+1 (555) 123-4567'];
const spaces = [' ', '  ', '   ', '\n', '\n\n', '\n\n\n', '\r\n', '\r\n\r\n', '\t', ' \n ', '  \n', '\n  ', '\u00a0', '\u3000', '\u2003', '\ufeff', '\u0085', '\u2028', '\v\f'];
const emoji = ['😀', '👍🏽', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇨🇳🇺🇸', '❤️', '🤖 AI', '🎉🎉🎉', '✅ done', '☕', '🧑‍💻'];
const specials = ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', '<｜User｜>', '<｜Assistant｜>', '<think>', '</think>',
  '<｜fim▁begin｜>', '<｜fim▁hole｜>', '<｜fim▁end｜>', '<｜tool▁calls▁begin｜>', '<｜tool▁sep｜>', '<|EOT|>', '<｜▁pad▁｜>', '<｜User', '｜>'];
const marks = ['e\u0301', 'a\u0308\u0323', 'n\u0303', '\u0915\u094d\u0937', 'Z̤̈͝a̡l̨g͘o', 'ﬁ ﬂ ﬀ', 'Ａｂｃ１２３'];
const groups = [english, english, chinese, japanese, korean, other, code, code, digits, spaces, spaces, emoji, specials, marks];

function piece() { return pick(pick(groups)); }

function invalidBytes() {
  return pick([[0xff], [0xc0, 0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0x80, 0x80],
               [0xf0, 0x9f, 0x98], [0xc3], [0xe6, 0x97, 0xa5, 0xe6], [0xfe, 0xfe, 0x41]]);
}

const count = Number(process.argv[3] || 2400);
const lines = [];
const enc = new TextEncoder();
// Every single piece on its own first, then random mixtures.
for (const g of groups) for (const p of g) lines.push(Buffer.from(enc.encode(p)));
lines.push(Buffer.from(enc.encode('1'.repeat(100))), Buffer.from(enc.encode(' '.repeat(50) + 'x')),
           Buffer.from(enc.encode('\n'.repeat(30))), Buffer.from(''), Buffer.from(enc.encode('a'.repeat(300))));
while (lines.length < count) {
  const parts = [];
  const n = int(1, 8);
  for (let i = 0; i < n; ++i) {
    if (rand() < 0.08) parts.push(Buffer.from(invalidBytes()));
    else parts.push(Buffer.from(enc.encode(piece())));
    if (rand() < 0.5) parts.push(Buffer.from(enc.encode(pick([' ', '', '\n', '  ', ', ']))));
  }
  lines.push(Buffer.concat(parts));
}
fs.writeFileSync(process.argv[2], lines.map((b) => b.toString('hex')).join('\n') + '\n');
