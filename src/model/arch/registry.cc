#include "model/arch/registry.h"

namespace seekd::model {
namespace {

// Dense llama-family decoders share one forward pass (model/arch/dense.cc).
constexpr ArchInfo kArchs[] = {
    // DeepSeek-LLM, DeepSeek-Coder, R1-Distill-Llama.
    {"llama", ops::RopeLayout::kNorm, ops::RopeLayout::kNeox, false},
    // R1-Distill-Qwen: NeoX pairs in both formats, biases on q/k/v.
    {"qwen2", ops::RopeLayout::kNeox, ops::RopeLayout::kNeox, true},
};

}  // namespace

std::span<const ArchInfo> RegisteredArchs() { return kArchs; }

const ArchInfo* FindArch(std::string_view name) {
  for (const ArchInfo& a : kArchs)
    if (a.name == name) return &a;
  return nullptr;
}

}  // namespace seekd::model
