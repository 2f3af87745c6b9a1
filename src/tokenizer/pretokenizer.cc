#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

namespace seekd::tok {

namespace {

// JavaScript's \s (ECMA-262 WhiteSpace + LineTerminator), as PCRE2 class members.
constexpr const char* kJsSpaceMembers =
    "\\t\\n\\x0b\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}"
    "\\x{3000}\\x{feff}";

// Letters PCRE2 10.42 (Unicode 14) does not know but the reference's ICU (Unicode 15.1) does:
// CJK Extension H (15.0) and Extension I (15.1), all category Lo. Without them a character like
// U+31404 stops being a letter and text around it splits differently (found by a random-code-
// point stress run against the Llama-3 and Qwen3 references).
constexpr const char* kNewLetterMembers = "\\x{31350}-\\x{323af}\\x{2ebf0}-\\x{2ee5d}";

// GPT-2's split (used by "gpt2" and "default").
constexpr const char* kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// The case-insensitive English contractions of the Llama-3 / Qwen2 regex. tokenizer.json writes
// them as an inline (?i:...) group, which JavaScript's RegExp cannot parse; the reference rewrites
// that exact group to ASCII case classes, and so does seekd: PCRE2's caseless UTF matching would
// also accept U+017F (long s) for 's', which the reference never does.
constexpr std::string_view kCaselessContractions = "(?i:'s|'t|'re|'ve|'m|'ll|'d)";
constexpr const char* kAsciiContractions =
    "(?:'(?:[sS]|[tT]|[rR][eE]|[vV][eE]|[mM]|[lL][lL]|[dD]))";

// Llama-3 / Qwen2 family; digits one at a time (qwen2) or up to three (llama-bpe).
std::string Llama3Style(const char* digits) {
  return std::string(kAsciiContractions) + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" + digits +
         "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
}

// DeepSeek-V3 / R1 (tokenizer.json of deepseek-ai/DeepSeek-V3, tokenizer.ggml.pre "deepseek-v3").
const std::vector<std::string>& DeepSeekV3() {
  static const std::vector<std::string> v = {
      "\\p{N}{1,3}",
      "[一-龥぀-ゟ゠-ヿ]+",
      "[!\"#$%&'()*+,\\-./"
      ":;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\\r\\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+|"
      " ?[\\p{P}\\p{S}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
  };
  return v;
}

}  // namespace

Result<std::vector<std::string>> SplitRegexesForPre(std::string_view pre) {
  if (pre == "deepseek-v3" || pre == "deepseek-r1") return DeepSeekV3();
  if (pre == "qwen2" || pre == "deepseek-r1-qwen")
    return std::vector<std::string>{Llama3Style("\\p{N}")};
  if (pre == "llama-bpe" || pre == "llama3" || pre == "llama-v3")
    return std::vector<std::string>{Llama3Style("\\p{N}{1,3}")};
  if (pre == "deepseek-coder")
    return std::vector<std::string>{"[\\r\\n]", "\\s?\\p{L}+", "\\s?\\p{P}+",
                                    "[一-龥ࠀ-一가-퟿]+", "\\p{N}"};
  if (pre == "deepseek-llm") {
    // The cased-letter class this pre-tokenizer name stands for, written with escapes so that no
    // editor's Unicode normalization can alter it. Digits one per piece, as the model's own
    // tokenizer.json does (Digits, individual_digits).
    static const std::vector<std::string> v = {
        "[\\r\\n]",
        "\\s?[A-Za-z\\x{b5}\\x{c0}-\\x{d6}\\x{d8}-\\x{f6}\\x{f8}-\\x{1ba}\\x{1bc}-\\x{1bf}\\x{1c4}-"
        "\\x{293}\\x{295}-\\x{2af}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37b}-\\x{37d}\\x{37f}\\x{"
        "386}\\x{388}-\\x{38a}\\x{38c}\\x{38e}-\\x{3a1}\\x{3a3}-\\x{3f5}\\x{3f7}-\\x{481}\\x{48a}-"
        "\\x{52f}\\x{531}-\\x{556}\\x{10a0}-\\x{10c5}\\x{13a0}-\\x{13f5}\\x{13f8}-\\x{13fd}\\x{"
        "1c90}-\\x{1cba}\\x{1cbd}-\\x{1cbf}\\x{1d00}-\\x{1d2b}\\x{1d6b}-\\x{1d77}\\x{1d79}-\\x{"
        "1d9a}\\x{1e00}-\\x{1f15}\\x{1f18}-\\x{1f1d}\\x{1f20}-\\x{1f45}\\x{1f48}-\\x{1f4d}\\x{1f50}"
        "-\\x{1f57}\\x{1f59}\\x{1f5b}\\x{1f5d}\\x{1f5f}-\\x{1f7d}\\x{1f80}-\\x{1fb4}\\x{1fb6}-\\x{"
        "1fbc}\\x{1fbe}\\x{1fc2}-\\x{1fc4}\\x{1fc6}-\\x{1fcc}\\x{1fd0}-\\x{1fd3}\\x{1fd6}-\\x{1fdb}"
        "\\x{1fe0}-\\x{1fec}\\x{1ff2}-\\x{1ff4}\\x{1ff6}-\\x{1ffc}\\x{2102}\\x{2107}\\x{210a}-\\x{"
        "2113}\\x{2115}\\x{2119}-\\x{211d}\\x{2124}\\x{2126}\\x{2128}\\x{212a}-\\x{212d}\\x{212f}-"
        "\\x{2134}\\x{2139}\\x{213c}-\\x{213f}\\x{2145}-\\x{2149}\\x{214e}\\x{2183}\\x{2184}\\x{"
        "2c00}-\\x{2c7b}\\x{2c7e}-\\x{2ce4}\\x{2ceb}-\\x{2cee}\\x{2cf2}\\x{2cf3}\\x{a640}-\\x{a66d}"
        "\\x{a680}-\\x{a69b}\\x{a722}-\\x{a76f}\\x{a771}-\\x{a787}\\x{a78b}-\\x{a78e}\\x{ab70}-\\x{"
        "abbf}\\x{fb00}-\\x{fb06}\\x{fb13}-\\x{fb17}\\x{ff21}-\\x{ff3a}\\x{ff41}-\\x{ff5a}\\x{"
        "10400}-\\x{1044f}\\x{104b0}-\\x{104d3}\\x{104d8}-\\x{104fb}\\x{10c80}-\\x{10cb2}\\x{10cc0}"
        "-\\x{10cf2}\\x{118a0}-\\x{118df}\\x{1e900}-\\x{1e943}]+",
        "\\s?[!-/:-~\\x{ff01}-\\x{ff0f}\\x{ff1a}-\\x{ff5e}\\x{2018}-\\x{201f}\\x{3000}-\\x{3002}]+",
        "\\s+$",
        "[\\x{4e00}-\\x{9fa5}\\x{800}-\\x{4e00}\\x{ac00}-\\x{d7ff}]+",
        "\\p{N}",
    };
    return v;
  }
  if (pre == "gpt2" || pre == "default" || pre.empty()) return std::vector<std::string>{kGpt2};
  return NotFound("unknown pre-tokenizer '" + std::string(pre) + "'");
}

std::string PreTokenizer::TranslateJsPattern(std::string_view js) {
  std::string out;
  out.reserve(js.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < js.size(); ++i) {
    const char c = js[i];
    if (!in_class && js.substr(i, kCaselessContractions.size()) == kCaselessContractions) {
      out += kAsciiContractions;
      i += kCaselessContractions.size() - 1;
      continue;
    }
    if (c == '\\' && i + 1 < js.size()) {
      const char n = js[i + 1];
      ++i;
      if (n == 'p' && js.substr(i + 1, 3) == "{L}") {
        const std::string members = std::string("\\p{L}") + kNewLetterMembers;
        out += in_class ? members : "[" + members + "]";
        i += 3;
      } else if (n == 's') {
        out += in_class ? std::string(kJsSpaceMembers) : "[" + std::string(kJsSpaceMembers) + "]";
      } else if (n == 'S' && !in_class) {
        out += "[^" + std::string(kJsSpaceMembers) + "]";
      } else {
        out += '\\';
        out += n;
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal in PCRE2 but ends an empty class in JS;
      // tokenizer patterns never use either form.
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

struct PreTokenizer::Impl {
  std::vector<pcre2_code*> codes;
  ~Impl() {
    for (auto* c : codes) pcre2_code_free(c);
  }
};

PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

Result<PreTokenizer> PreTokenizer::Create(const std::vector<std::string>& js_patterns) {
  PreTokenizer p;
  p.impl_ = std::make_unique<Impl>();
  for (const auto& js : js_patterns) {
    const std::string pat = TranslateJsPattern(js);
    int err = 0;
    PCRE2_SIZE err_off = 0;
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pat.data()), pat.size(),
                                     PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &err, &err_off, nullptr);
    if (!code) {
      PCRE2_UCHAR msg[256];
      pcre2_get_error_message(err, msg, sizeof msg);
      return InvalidArgument("pre-tokenizer regex '" + js +
                             "' does not compile: " + reinterpret_cast<char*>(msg) + " at offset " +
                             std::to_string(err_off));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
    p.impl_->codes.push_back(code);
  }
  return p;
}

void PreTokenizer::Split(std::string_view text, std::vector<std::string_view>* out) const {
  std::vector<std::string_view> cur{text}, next;
  if (text.empty()) return;
  for (pcre2_code* code : impl_->codes) {
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
    next.clear();
    for (std::string_view piece : cur) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t start = 0, last_end = 0;
      while (start <= piece.size()) {
        const int rc =
            pcre2_match(code, subject, piece.size(), start, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc < 0) break;
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t b = ov[0], e = ov[1];
        if (b > last_end) next.push_back(piece.substr(last_end, b - last_end));
        last_end = e;
        if (e > b) {
          next.push_back(piece.substr(b, e - b));
          start = e;
        } else {  // empty match: step one code point, as JavaScript's matchAll does
          if (b >= piece.size()) break;
          start = b + 1;
          while (start < piece.size() && (static_cast<uint8_t>(piece[start]) & 0xc0) == 0x80)
            ++start;
        }
      }
      if (last_end < piece.size()) next.push_back(piece.substr(last_end));
    }
    pcre2_match_data_free(md);
    cur.swap(next);
  }
  out->insert(out->end(), cur.begin(), cur.end());
}

}  // namespace seekd::tok
