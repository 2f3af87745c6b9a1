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
  std::string arch = "llama";  // llama | qwen2 (adds q/k/v biases) | deepseek2 (MLA + MoE)
  std::string name = "seekd-tiny";
  uint64_t n_vocab = 512;
  uint64_t n_embd = 256;  // K-quant types need multiples of 256
  uint64_t n_layer = 2;
  uint64_t n_head = 4;
  uint64_t n_head_kv = 2;  // llama / qwen2 only (deepseek2 is written as llama.cpp's MQA view)
  uint64_t n_ff = 512;     // deepseek2: the leading dense blocks' width
  uint64_t n_ctx = 4096;
  double rope_theta = 10000.0;
  double rms_eps = 1e-6;
  bool tied_embeddings = false;
  std::string weights = "q4_k_m";  // q4_k_m | q4_0 | q8_0 | f16 | bf16 | f32
  // llama / qwen2 RoPE scaling: none | linear | yarn (metadata keys) | llama3 (the
  // rope_freqs.weight tensor llama.cpp's converter writes instead of keys).
  std::string rope_scaling = "none";
  double rope_factor = 1.0;
  uint64_t rope_orig_ctx = 0;  // original context (yarn, llama3)
  double init_std = 0.02;      // weights ~ N(0, init_std²); norms ~ 1 + N(0, init_std²)
  uint32_t seed = 1;

  // deepseek2 only. Dims that end up as a row length (ne0) must be multiples of 32.
  uint64_t q_lora_rank = 128;  // 0: V2-Lite style, a plain attn_q
  uint64_t kv_lora_rank = 64;
  uint64_t qk_nope_dim = 32, qk_rope_dim = 32, v_head_dim = 32;
  uint64_t n_expert = 4, n_expert_used = 2, n_expert_shared = 1, n_ff_expert = 256;
  uint64_t n_leading_dense = 1;
  double expert_weights_scale = 2.5;
  bool expert_weights_norm = true;
  bool sigmoid_gating = true;  // V3: sigmoid scores plus the exp_probs_b correction bias
  double yarn_factor = 40.0;   // 0: no rope scaling keys
  uint64_t yarn_orig_ctx = 4096;
  double yarn_mscale_all_dim = 1.0;
};

Status WriteTinyModel(const TinyModelSpec& spec, GgufWriter* w);

}  // namespace seekd::model
