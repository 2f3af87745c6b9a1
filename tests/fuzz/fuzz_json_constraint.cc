// libFuzzer target: the JSON-mode automaton on arbitrary bytes. Whatever it accepts as complete
// must be JSON that a real parser accepts (and an object, for json_object).
#include <cstdint>
#include <memory>
#include <string_view>

#include "engine/json_constraint.h"

namespace {
std::shared_ptr<const seekd::engine::JsonVocab> Vocab() {
  static const auto v = [] {
    seekd::tok::VocabSpec spec;
    for (int c = 0x21; c < 0x7f; ++c) spec.tokens.push_back(std::string(1, static_cast<char>(c)));
    spec.tokens.push_back("<eos>");
    spec.token_types.assign(spec.tokens.size(), seekd::tok::kTokenNormal);
    spec.token_types.back() = seekd::tok::kTokenControl;
    auto t = seekd::tok::Tokenizer::Create(spec);
    static seekd::tok::Tokenizer tok = std::move(*t);
    return std::make_shared<const seekd::engine::JsonVocab>(tok);
  }();
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto c = seekd::engine::JsonConstraint::Create(Vocab(), nullptr, {94});
  if (!c.ok()) __builtin_trap();
  if (!(*c)->Feed(text) || !(*c)->done()) return 0;
  const auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) __builtin_trap();
  return 0;
}
