#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>

namespace seekd::tok {

namespace {

// JavaScript's \s (ECMA-262 WhiteSpace + LineTerminator), as PCRE2 class members.
constexpr const char* kJsSpaceMembers =
    "\\t\\n\\x0b\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}"
    "\\x{3000}\\x{feff}";

// GPT-2's split (used by "gpt2" and "default").
constexpr const char* kGpt2 =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

// Llama-3 / Qwen2 family; digits one at a time (qwen2) or up to three (llama-bpe).
std::string Llama3Style(const char* digits) {
  return std::string("(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|") + digits +
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
  if (pre == "deepseek-llm")  // its cased-letter class is not yet verified against a reference
    return Unsupported(
        "pre-tokenizer 'deepseek-llm' from GGUF metadata is not supported yet; "
        "open the model's Hugging Face folder (tokenizer.json carries the regexes)");
  if (pre == "gpt2" || pre == "default" || pre.empty()) return std::vector<std::string>{kGpt2};
  return NotFound("unknown pre-tokenizer '" + std::string(pre) + "'");
}

std::string PreTokenizer::TranslateJsPattern(std::string_view js) {
  std::string out;
  out.reserve(js.size() + 64);
  bool in_class = false;
  for (size_t i = 0; i < js.size(); ++i) {
    const char c = js[i];
    if (c == '\\' && i + 1 < js.size()) {
      const char n = js[i + 1];
      ++i;
      if (n == 's') {
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
