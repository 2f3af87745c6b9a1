// Opens what a user points seekd at — a GGUF file, a Hugging Face model folder, or a bare
// tokenizer.json — and joins the model-file layer with the tokenizer and chat layers.
#pragma once

#include <optional>
#include <string>

#include "core/status.h"
#include "model/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/vocab_spec.h"

namespace seekd::loader {

enum class SourceKind { kGguf, kHfFolder, kTokenizerJson };

// What kind of path this is (by content for files: the GGUF magic; folders by config files).
Result<SourceKind> DetectSource(const std::string& path);

// tokenizer.ggml.* keys of a GGUF file → VocabSpec.
Result<tok::VocabSpec> VocabSpecFromGguf(const model::GgufFile& file);
// The reverse: writes the tokenizer.ggml.* keys the way llama.cpp's converter names them.
void AddVocabToGguf(const tok::VocabSpec& spec, model::GgufWriter* w);

// The vocabulary of any supported path.
Result<tok::VocabSpec> LoadVocabSpec(const std::string& path);
Result<tok::Tokenizer> LoadTokenizer(const std::string& path);

// The model's own chat template (Jinja source) and the bos/eos token texts it renders with.
struct ChatTemplateSource {
  std::string jinja;  // empty when the model ships none
  std::string bos_token, eos_token;
};
Result<ChatTemplateSource> LoadChatTemplate(const std::string& path);

}  // namespace seekd::loader
