// The architectures seekd runs, one table (adding one: a builder file in model/arch/ and a line
// in registry.cc; tests iterate the table).
#pragma once

#include <span>
#include <string_view>

#include "core/ops.h"

namespace seekd::model {

struct ArchInfo {
  std::string_view name;  // general.architecture / the converter's name
  // RoPE pair layout of the stored q/k weights. llama.cpp's converter permutes llama's q/k rows
  // so GGUF llama rotates adjacent pairs; Hugging Face checkpoints rotate halves.
  ops::RopeLayout rope_gguf;
  ops::RopeLayout rope_hf;
  bool qkv_bias;  // q/k/v projections carry a bias
};

std::span<const ArchInfo> RegisteredArchs();
const ArchInfo* FindArch(std::string_view name);  // null when not registered

}  // namespace seekd::model
