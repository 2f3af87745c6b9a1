// Small random models laid out exactly as llama.cpp's converter and quantizer write them
// (tensor names, general.* and {arch}.* keys, Q4_K_M type mix). Tests, `seekd make-model` and
// the bundled default model use them; the caller adds the tokenizer keys.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"
#include "model/gguf.h"

namespace seekd::model {

struct TinyModelSpec {
  std::string arch = "llama";  // llama | qwen2 (adds q/k/v biases)
  std::string name = "seekd-tiny";
  uint64_t n_vocab = 512;
  uint64_t n_embd = 256;  // K-quant types need multiples of 256
  uint64_t n_layer = 2;
  uint64_t n_head = 4;
  uint64_t n_head_kv = 2;
  uint64_t n_ff = 512;
  uint64_t n_ctx = 4096;
  double rope_theta = 10000.0;
  double rms_eps = 1e-6;
  bool tied_embeddings = false;
  std::string weights = "q4_k_m";  // q4_k_m | q8_0 | f16 | f32
  uint32_t seed = 1;
};

Status WriteTinyModel(const TinyModelSpec& spec, GgufWriter* w);

}  // namespace seekd::model
