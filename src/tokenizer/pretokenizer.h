// Pre-tokenization: an ordered list of "Split, Isolated" regexes. Each regex re-splits every
// piece produced so far; both its matches and the gaps between them become pieces.
//
// Patterns are written in JavaScript / tokenizer.json regex syntax and compiled with PCRE2
// (JIT). `\s` and `\S` are rewritten to JavaScript's whitespace set, which differs from
// PCRE2's; `\d`/`\w` stay ASCII as in JavaScript (PCRE2 runs without UCP).
//
// Thread-safety: Split is const and safe to call from many threads (match data is per call).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace seekd::tok {

// The split regexes of a known pre-tokenizer name (tokenizer.ggml.pre), or NotFound.
Result<std::vector<std::string>> SplitRegexesForPre(std::string_view pre);

class PreTokenizer {
 public:
  static Result<PreTokenizer> Create(const std::vector<std::string>& js_patterns);
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;
  ~PreTokenizer();

  // Appends the pieces of valid UTF-8 `text` (views into it) to *out.
  void Split(std::string_view text, std::vector<std::string_view>* out) const;

  // Exposed for tests: the PCRE2 pattern a JS pattern becomes.
  static std::string TranslateJsPattern(std::string_view js);

 private:
  PreTokenizer() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seekd::tok
