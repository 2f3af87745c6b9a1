// Byte-level BPE tokenizer (DeepSeek, Qwen2, Llama-3 families), exact with the reference
// tokenizers: special/added tokens are matched first (longest match, leftmost), the rest is
// normalized, pre-tokenized, byte-mapped and merged by rank (lowest first, leftmost on ties).
//
// Thread-safety: Encode/Decode are const and may run concurrently; the piece cache is guarded.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/vocab_spec.h"

namespace seekd::tok {

struct EncodeOptions {
  // -1: as the vocabulary says (add_bos); 0: never; 1: always.
  int add_bos = -1;
  // Match control tokens (<｜User｜>, bos, eos, …) written in the text. User-defined added
  // tokens are always matched; with false, control tokens are tokenized as plain text.
  bool parse_special = true;
};

class Tokenizer {
 public:
  static Result<Tokenizer> Create(VocabSpec spec);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Input that is not valid UTF-8 is repaired first (each invalid subpart → U+FFFD).
  std::vector<int32_t> Encode(std::string_view text, const EncodeOptions& options = {}) const;
  // Bytes of the tokens; control tokens are dropped when skip_special. The result may hold
  // invalid UTF-8 if the ids cut a character; StreamDecoder handles streaming.
  std::string Decode(std::span<const int32_t> ids, bool skip_special = false) const;
  // The raw bytes one token stands for.
  const std::string& TokenBytes(int32_t id) const;
  // The token's text as stored in the vocabulary (byte-level encoded for normal tokens).
  const std::string& TokenText(int32_t id) const { return spec_.tokens[static_cast<size_t>(id)]; }

  int32_t vocab_size() const { return static_cast<int32_t>(spec_.tokens.size()); }
  int32_t bos_id() const { return spec_.bos_id; }
  int32_t eos_id() const { return spec_.eos_id; }
  bool IsSpecial(int32_t id) const;                // control token
  int32_t FindToken(std::string_view text) const;  // -1 when absent
  const VocabSpec& spec() const { return spec_; }
  std::string_view pre_name() const { return spec_.pre; }

 private:
  Tokenizer();
  struct Impl;
  VocabSpec spec_;
  std::unique_ptr<Impl> impl_;
};

// Turns a stream of ids into text, emitting a multi-byte character only once it is complete.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tok, bool skip_special = false)
      : tok_(tok), skip_special_(skip_special) {}
  // Complete UTF-8 produced by this token (possibly empty).
  std::string Push(int32_t id);
  // Whatever is pending, repaired (an incomplete character becomes U+FFFD).
  std::string Flush();

 private:
  const Tokenizer& tok_;
  bool skip_special_;
  std::string pending_;
};

// Reads a Hugging Face tokenizer.json (+ tokenizer_config.json, may be empty) into a VocabSpec.
Result<VocabSpec> VocabSpecFromHf(std::string_view tokenizer_json,
                                  std::string_view tokenizer_config_json);
// path: a tokenizer.json file, or a folder holding tokenizer.json (+ tokenizer_config.json).
Result<VocabSpec> LoadHfTokenizer(const std::string& path);

}  // namespace seekd::tok
