// The plain description a tokenizer is built from: what GGUF's tokenizer.ggml.* keys hold, or
// what a Hugging Face tokenizer.json says. Filled by the loader (GGUF) or by VocabSpecFromHf.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace seekd::tok {

// GGUF token types.
enum TokenType : int32_t {
  kTokenNormal = 1,
  kTokenUnknown = 2,
  kTokenControl = 3,  // special: <｜User｜>, bos, eos … matched in text only with parse_special
  kTokenUserDefined = 4,  // added, not special: always matched in text, never split by BPE
  kTokenUnused = 5,
  kTokenByte = 6,
};

struct VocabSpec {
  std::string model = "gpt2";  // byte-level BPE; "llama" (SentencePiece) is not supported yet
  std::string pre;             // pre-tokenizer name as in tokenizer.ggml.pre: "deepseek-v3", ...
  std::vector<std::string> tokens;   // id → text (byte-level encoded for normal tokens)
  std::vector<int32_t> token_types;  // id → TokenType; empty means all normal
  std::vector<std::string> merges;   // "left right", rank = index
  int32_t bos_id = -1, eos_id = -1, pad_id = -1, unk_id = -1;
  bool add_bos = false, add_eos = false;
  // Ordered "Split, Isolated" regexes (JS regex syntax, as tokenizer.json writes them); when
  // non-empty they replace the table chosen by `pre`.
  std::vector<std::string> pre_split_regexes;
  std::string normalizer;      // "" or "nfc"
  bool ignore_merges = false;  // a piece that is itself a token is emitted whole (Llama-3)
};

}  // namespace seekd::tok
