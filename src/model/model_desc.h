// What a model is, independent of its file format: architecture, hyper-parameters and tensor
// table, filled from GGUF metadata or from a Hugging Face config.json + safetensors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/status.h"

namespace seekd::model {

class GgufFile;

struct HyperParams {
  uint64_t n_ctx_train = 0;
  uint64_t n_embd = 0;
  uint64_t n_layer = 0;
  uint64_t n_head = 0;
  uint64_t n_head_kv = 0;
  uint64_t n_ff = 0;
  uint64_t n_vocab = 0;
  double rms_eps = 1e-6;
  // Per-head K and V dims (n_embd / n_head unless given). For MLA models these and n_head_kv
  // describe the decompressed attention (n_head_kv = n_head, head_dim_k = qk_nope + qk_rope,
  // head_dim_v = v_head_dim), whichever way the file stores it: llama.cpp writes MLA as an
  // MQA view (head_count_kv 1, key_length kv_lora + rope), config.json as full MHA.
  uint64_t head_dim_k = 0;
  uint64_t head_dim_v = 0;
  uint64_t rope_dims = 0;
  double rope_theta = 10000.0;
  std::string rope_scaling = "none";  // none | linear | yarn
  double rope_scaling_factor = 1.0;
  uint64_t rope_orig_ctx = 0;
  double yarn_log_multiplier = 0.0;
  double yarn_beta_fast = 32.0, yarn_beta_slow = 1.0;  // YaRN's correction range (rotations)
  double rope_attn_factor = 1.0;                       // extra cos/sin magnitude
  // llama3 scaling (config.json only; GGUF files carry it as the rope_freqs.weight tensor).
  double llama3_low_freq_factor = 1.0, llama3_high_freq_factor = 4.0;
  // Mixture of experts (deepseek2).
  uint64_t n_expert = 0, n_expert_used = 0, n_expert_shared = 0, n_ff_expert = 0;
  uint64_t n_leading_dense = 0;
  double expert_weights_scale = 1.0;
  bool expert_weights_norm = false;
  std::string expert_gating = "softmax";
  // Multi-head latent attention (deepseek2).
  uint64_t q_lora_rank = 0, kv_lora_rank = 0, qk_rope_dim = 0, qk_nope_dim = 0, v_head_dim = 0;
  bool tied_embeddings = false;
  bool attention_bias = false;  // q/k/v (or output) projections carry a bias (qwen2 does)
};

struct TensorDesc {
  std::string name;  // GGUF naming: blk.N.attn_q.weight
  DType dtype = DType::kF32;
  std::string dtype_name;      // as the file names it ("q4_K", "BF16", "F8_E4M3")
  std::vector<int64_t> shape;  // ne0 first
  uint64_t n_bytes = 0;
  uint64_t n_elements = 0;
};

struct ModelDescription {
  std::string format;        // "gguf" | "safetensors"
  std::string architecture;  // llama | qwen2 | deepseek2
  std::string name;
  uint64_t file_type = 0;  // GGUF general.file_type, when given
  HyperParams hp;
  std::vector<TensorDesc> tensors;
  uint64_t file_bytes = 0;

  uint64_t ParameterCount() const;
  // "q4_K × 120, f32 × 61, q6_K × 24" ordered by count.
  std::string DTypeMix() const;
};

// Architectures seekd describes.
bool KnownArchitecture(const std::string& arch);

Result<ModelDescription> DescribeGguf(const GgufFile& file);

// A Hugging Face folder: config.json plus model.safetensors or sharded files listed in
// model.safetensors.index.json. Tensor names are mapped to GGUF's, shapes reversed to ne order,
// and the table is the one llama.cpp's converter would write: for deepseek2 the routed experts
// of a layer become one stacked tensor (blk.N.ffn_gate_exps.weight, ne [in, out, n_expert]) and
// kv_b_proj becomes attn_k_b [qk_nope, kv_lora, n_head] + attn_v_b [kv_lora, v_dim, n_head].
// Tensors that do not fit those shapes are listed as they are.
Result<ModelDescription> DescribeHfFolder(const std::string& dir);
// The safetensors files of a Hugging Face folder (sharded per the index, or model.safetensors).
Result<std::vector<std::string>> HfSafetensorsFiles(const std::string& dir);
// Whether any layer has an attention projection bias (blk.N.attn_{q,k,v,output}.bias).
bool HasAttentionBias(const std::vector<TensorDesc>& tensors);
// blk.N.attn_q.weight for model.layers.N.self_attn.q_proj.weight; unknown names pass through.
std::string GgufNameFromHf(const std::string& hf_name);

}  // namespace seekd::model
