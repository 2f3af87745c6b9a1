#include "model/tiny_model.h"

#include <cmath>
#include <random>

#include "core/quant.h"

namespace seekd::model {
namespace {

// llama.cpp's Q4_K_M rule for attn_v / ffn_down: Q6_K on the first and last eighth of the
// layers and every third layer between, Q4_K elsewhere.
bool UseMoreBits(uint64_t i, uint64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

DType WeightType(const TinyModelSpec& s, const std::string& name, uint64_t layer, int64_t ne0) {
  if (name.ends_with("ffn_gate_inp.weight")) return DType::kF32;  // routers are never quantized
  if (s.weights == "f32") return DType::kF32;
  if (s.weights == "f16") return DType::kF16;
  if (s.weights == "bf16") return DType::kBF16;
  if (s.weights == "q8_0") return DType::kQ8_0;
  const bool output = name == "output.weight" || (s.tied_embeddings && name == "token_embd.weight");
  if (s.weights == "q4_0") {  // llama.cpp gives the output matrix Q6_K in every Q4_0 file
    if (!output) return DType::kQ4_0;
    return ne0 % 256 == 0 ? DType::kQ6_K : DType::kQ8_0;
  }
  DType t = DType::kQ4_K;
  if (output) t = DType::kQ6_K;
  if ((name.ends_with("attn_v.weight") || name.find("ffn_down") != std::string::npos) &&
      UseMoreBits(layer, s.n_layer))
    t = DType::kQ6_K;
  if (ne0 % 256 != 0) t = t == DType::kQ6_K ? DType::kQ8_0 : DType::kQ5_0;  // llama.cpp's fallback
  return t;
}

Status CheckSpec(const TinyModelSpec& s) {
  if (s.arch != "llama" && s.arch != "qwen2" && s.arch != "deepseek2")
    return InvalidArgument("tiny models are llama, qwen2 or deepseek2, not " + s.arch);
  if (s.n_head == 0 || s.n_embd % s.n_head != 0 || s.n_head_kv == 0 || s.n_head % s.n_head_kv != 0)
    return InvalidArgument("head counts must divide the embedding and each other");
  if (s.weights != "q4_k_m" && s.weights != "q4_0" && s.weights != "q8_0" && s.weights != "f16" &&
      s.weights != "bf16" && s.weights != "f32")
    return InvalidArgument("weights must be q4_k_m, q4_0, q8_0, f16, bf16 or f32");
  if (s.arch == "deepseek2" &&
      (s.kv_lora_rank == 0 || s.qk_rope_dim == 0 || s.n_expert == 0 || s.n_expert_used == 0 ||
       s.n_expert_used > s.n_expert || s.n_leading_dense > s.n_layer))
    return InvalidArgument(
        "deepseek2 needs kv_lora_rank, qk_rope_dim and experts (used ≤ count, dense ≤ layers)");
  return Status::Ok();
}

uint32_t U32(uint64_t v) { return static_cast<uint32_t>(v); }

// The keys llama.cpp's converter writes for deepseek2. MLA is stored as its MQA view: one KV
// head whose key is the latent plus the rope part, with the per-head dims in the *_mla keys.
void SetDeepseekKeys(const TinyModelSpec& s, GgufWriter* w) {
  const std::string a = "deepseek2.";
  w->Set(a + "vocab_size", GgufValue::U32(U32(s.n_vocab)));
  w->Set(a + "leading_dense_block_count", GgufValue::U32(U32(s.n_leading_dense)));
  if (s.q_lora_rank > 0) w->Set(a + "attention.q_lora_rank", GgufValue::U32(U32(s.q_lora_rank)));
  w->Set(a + "attention.kv_lora_rank", GgufValue::U32(U32(s.kv_lora_rank)));
  w->Set(a + "attention.key_length", GgufValue::U32(U32(s.kv_lora_rank + s.qk_rope_dim)));
  w->Set(a + "attention.value_length", GgufValue::U32(U32(s.kv_lora_rank)));
  w->Set(a + "attention.key_length_mla", GgufValue::U32(U32(s.qk_nope_dim + s.qk_rope_dim)));
  w->Set(a + "attention.value_length_mla", GgufValue::U32(U32(s.v_head_dim)));
  w->Set(a + "expert_feed_forward_length", GgufValue::U32(U32(s.n_ff_expert)));
  w->Set(a + "expert_count", GgufValue::U32(U32(s.n_expert)));
  w->Set(a + "expert_shared_count", GgufValue::U32(U32(s.n_expert_shared)));
  w->Set(a + "expert_weights_scale", GgufValue::F32(static_cast<float>(s.expert_weights_scale)));
  w->Set(a + "expert_weights_norm", GgufValue::Bool(s.expert_weights_norm));
  w->Set(a + "expert_gating_func", GgufValue::U32(s.sigmoid_gating ? 2 : 1));
  w->Set(a + "rope.dimension_count", GgufValue::U32(U32(s.qk_rope_dim)));
  if (s.yarn_factor > 0) {
    w->Set(a + "rope.scaling.type", GgufValue::String("yarn"));
    w->Set(a + "rope.scaling.factor", GgufValue::F32(static_cast<float>(s.yarn_factor)));
    w->Set(a + "rope.scaling.original_context_length", GgufValue::U32(U32(s.yarn_orig_ctx)));
    w->Set(a + "rope.scaling.yarn_log_multiplier",
           GgufValue::F32(static_cast<float>(0.1 * s.yarn_mscale_all_dim)));
  }
}

void SetKeys(const TinyModelSpec& s, GgufWriter* w) {
  const std::string a = s.arch + ".";
  const bool mla = s.arch == "deepseek2";
  w->Set("general.architecture", GgufValue::String(s.arch));
  w->Set("general.type", GgufValue::String("model"));
  w->Set("general.name", GgufValue::String(s.name));
  w->Set(a + "block_count", GgufValue::U32(U32(s.n_layer)));
  w->Set(a + "context_length", GgufValue::U32(U32(s.n_ctx)));
  w->Set(a + "embedding_length", GgufValue::U32(U32(s.n_embd)));
  w->Set(a + "feed_forward_length", GgufValue::U32(U32(s.n_ff)));
  w->Set(a + "attention.head_count", GgufValue::U32(U32(s.n_head)));
  w->Set(a + "attention.head_count_kv", GgufValue::U32(mla ? 1 : U32(s.n_head_kv)));
  w->Set(a + "rope.freq_base", GgufValue::F32(static_cast<float>(s.rope_theta)));
  w->Set(a + "attention.layer_norm_rms_epsilon", GgufValue::F32(static_cast<float>(s.rms_eps)));
  if (mla) w->Set(a + "expert_used_count", GgufValue::U32(U32(s.n_expert_used)));
  // llama_ftype numbering.
  const uint32_t file_type = s.weights == "q4_k_m" ? 15
                             : s.weights == "q4_0" ? 2
                             : s.weights == "q8_0" ? 7
                             : s.weights == "f16"  ? 1
                             : s.weights == "bf16" ? 32
                                                   : 0;
  w->Set("general.file_type", GgufValue::U32(file_type));
  if (s.arch == "llama") {
    w->Set(a + "vocab_size", GgufValue::U32(U32(s.n_vocab)));
    w->Set(a + "rope.dimension_count", GgufValue::U32(U32(s.n_embd / s.n_head)));
  }
  if (!mla && (s.rope_scaling == "linear" || s.rope_scaling == "yarn")) {
    w->Set(a + "rope.scaling.type", GgufValue::String(s.rope_scaling));
    w->Set(a + "rope.scaling.factor", GgufValue::F32(static_cast<float>(s.rope_factor)));
    if (s.rope_scaling == "yarn")
      w->Set(a + "rope.scaling.original_context_length", GgufValue::U32(U32(s.rope_orig_ctx)));
  }
  if (mla) SetDeepseekKeys(s, w);
  if (file_type == 15 || file_type == 7 || file_type == 2)
    w->Set("general.quantization_version", GgufValue::U32(2));
}

// Random weights (norms near 1), quantized to the type llama.cpp's Q4_K_M mix would pick.
class TensorMaker {
 public:
  TensorMaker(const TinyModelSpec& s, GgufWriter* w)
      : s_(s), w_(w), rng_(s.seed), dist_(0.0f, static_cast<float>(s.init_std)) {}

  Status Add(const std::string& name, std::vector<int64_t> shape, uint64_t layer = 0) {
    const bool norm = name.find("norm") != std::string::npos;
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = norm ? 1.0f + dist_(rng_) : dist_(rng_);
    const DType t = shape.size() == 1 ? DType::kF32 : WeightType(s_, name, layer, shape[0]);
    SEEKD_ASSIGN_OR_RETURN(uint64_t row, RowBytes(t, static_cast<uint64_t>(shape[0])));
    std::vector<uint8_t> bytes(row * static_cast<uint64_t>(n / shape[0]));
    SEEKD_RETURN_IF_ERROR(Quantize(t, x.data(), bytes.data(), n));
    return w_->AddTensor(name, t, std::move(shape), bytes);
  }

 private:
  const TinyModelSpec& s_;
  GgufWriter* w_;
  std::mt19937 rng_;
  std::normal_distribution<float> dist_;
};

int64_t I(uint64_t v) { return static_cast<int64_t>(v); }

// llama3 scaling as llama.cpp's converter stores it: per rotated pair, the divisor of the base
// frequency (1 for short wavelengths, the factor for long ones, a smooth blend between), with
// Llama-3.1's low/high frequency factors 1 and 4.
Status AddLlama3Freqs(const TinyModelSpec& s, GgufWriter* w) {
  const int64_t n_rot = I(s.n_embd / s.n_head);
  const double old_ctx = static_cast<double>(s.rope_orig_ctx), lo = 1.0, hi = 4.0;
  std::vector<float> f;
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const double freq = std::pow(s.rope_theta, -2.0 * static_cast<double>(i) / n_rot);
    const double wavelen = 2 * 3.14159265358979323846 / freq;
    double d = 1.0;
    if (wavelen > old_ctx / lo) {
      d = s.rope_factor;
    } else if (wavelen >= old_ctx / hi) {
      const double smooth = (old_ctx / wavelen - lo) / (hi - lo);
      d = 1.0 / ((1 - smooth) / s.rope_factor + smooth);
    }
    f.push_back(static_cast<float>(d));
  }
  return w->AddTensor("rope_freqs.weight", DType::kF32, {n_rot / 2},
                      {reinterpret_cast<const uint8_t*>(f.data()), f.size() * sizeof(float)});
}

Status AddDenseFfn(const TinyModelSpec& s, const std::string& b, uint64_t i, TensorMaker* m) {
  const int64_t E = I(s.n_embd), F = I(s.n_ff);
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_gate.weight", {E, F}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_up.weight", {E, F}, i));
  return m->Add(b + "ffn_down.weight", {F, E}, i);
}

Status AddLlamaLayer(const TinyModelSpec& s, uint64_t i, TensorMaker* m) {
  const std::string b = "blk." + std::to_string(i) + ".";
  const int64_t E = I(s.n_embd), KV = I(s.n_embd / s.n_head * s.n_head_kv);
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_norm.weight", {E}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_q.weight", {E, E}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_k.weight", {E, KV}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_v.weight", {E, KV}, i));
  if (s.arch == "qwen2") {
    SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_q.bias", {E}, i));
    SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_k.bias", {KV}, i));
    SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_v.bias", {KV}, i));
  }
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_output.weight", {E, E}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_norm.weight", {E}, i));
  return AddDenseFfn(s, b, i, m);
}

// One deepseek2 layer in the converter's current layout: kv_b split into attn_k_b / attn_v_b,
// routed experts stacked into 3-D tensors ([in, out, expert]).
Status AddDeepseekLayer(const TinyModelSpec& s, uint64_t i, TensorMaker* m) {
  const std::string b = "blk." + std::to_string(i) + ".";
  const int64_t E = I(s.n_embd), H = I(s.n_head), QK = I(s.qk_nope_dim + s.qk_rope_dim);
  const int64_t KVL = I(s.kv_lora_rank), QL = I(s.q_lora_rank), V = I(s.v_head_dim);
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_norm.weight", {E}, i));
  if (QL > 0) {
    SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_q_a.weight", {E, QL}, i));
    SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_q_a_norm.weight", {QL}, i));
    SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_q_b.weight", {QL, H * QK}, i));
  } else {
    SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_q.weight", {E, H * QK}, i));
  }
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_kv_a_mqa.weight", {E, KVL + I(s.qk_rope_dim)}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_kv_a_norm.weight", {KVL}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_k_b.weight", {I(s.qk_nope_dim), KVL, H}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_v_b.weight", {KVL, V, H}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "attn_output.weight", {H * V, E}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_norm.weight", {E}, i));
  if (i < s.n_leading_dense) return AddDenseFfn(s, b, i, m);
  const int64_t NE = I(s.n_expert), FE = I(s.n_ff_expert),
                SH = I(s.n_ff_expert * s.n_expert_shared);
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_gate_inp.weight", {E, NE}, i));
  if (s.sigmoid_gating) SEEKD_RETURN_IF_ERROR(m->Add(b + "exp_probs_b.bias", {NE}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_gate_exps.weight", {E, FE, NE}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_up_exps.weight", {E, FE, NE}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_down_exps.weight", {FE, E, NE}, i));
  if (SH == 0) return Status::Ok();
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_gate_shexp.weight", {E, SH}, i));
  SEEKD_RETURN_IF_ERROR(m->Add(b + "ffn_up_shexp.weight", {E, SH}, i));
  return m->Add(b + "ffn_down_shexp.weight", {SH, E}, i);
}

}  // namespace

Status WriteTinyModel(const TinyModelSpec& s, GgufWriter* w) {
  SEEKD_RETURN_IF_ERROR(CheckSpec(s));
  SetKeys(s, w);
  TensorMaker m(s, w);
  const int64_t E = I(s.n_embd), V = I(s.n_vocab);
  if (s.rope_scaling == "llama3") SEEKD_RETURN_IF_ERROR(AddLlama3Freqs(s, w));
  SEEKD_RETURN_IF_ERROR(m.Add("token_embd.weight", {E, V}));
  for (uint64_t i = 0; i < s.n_layer; ++i)
    SEEKD_RETURN_IF_ERROR(s.arch == "deepseek2" ? AddDeepseekLayer(s, i, &m)
                                                : AddLlamaLayer(s, i, &m));
  SEEKD_RETURN_IF_ERROR(m.Add("output_norm.weight", {E}));
  if (!s.tied_embeddings) SEEKD_RETURN_IF_ERROR(m.Add("output.weight", {E, V}));
  return Status::Ok();
}

}  // namespace seekd::model
