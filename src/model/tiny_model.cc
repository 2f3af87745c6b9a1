#include "model/tiny_model.h"

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
  if (s.weights == "f32") return DType::kF32;
  if (s.weights == "f16") return DType::kF16;
  if (s.weights == "q8_0") return DType::kQ8_0;
  DType t = DType::kQ4_K;
  if (name == "output.weight" || (s.tied_embeddings && name == "token_embd.weight"))
    t = DType::kQ6_K;
  if ((name.ends_with("attn_v.weight") || name.ends_with("ffn_down.weight")) &&
      UseMoreBits(layer, s.n_layer))
    t = DType::kQ6_K;
  if (ne0 % 256 != 0) t = t == DType::kQ6_K ? DType::kQ8_0 : DType::kQ5_0;  // llama.cpp's fallback
  return t;
}

}  // namespace

Status WriteTinyModel(const TinyModelSpec& s, GgufWriter* w) {
  if (s.arch != "llama" && s.arch != "qwen2")
    return InvalidArgument("tiny models are llama or qwen2, not " + s.arch);
  if (s.n_head == 0 || s.n_embd % s.n_head != 0 || s.n_head_kv == 0 || s.n_head % s.n_head_kv != 0)
    return InvalidArgument("head counts must divide the embedding and each other");
  if (s.weights != "q4_k_m" && s.weights != "q8_0" && s.weights != "f16" && s.weights != "f32")
    return InvalidArgument("weights must be q4_k_m, q8_0, f16 or f32");
  const std::string a = s.arch + ".";
  const uint64_t head_dim = s.n_embd / s.n_head, n_embd_kv = head_dim * s.n_head_kv;
  w->Set("general.architecture", GgufValue::String(s.arch));
  w->Set("general.type", GgufValue::String("model"));
  w->Set("general.name", GgufValue::String(s.name));
  w->Set(a + "block_count", GgufValue::U32(static_cast<uint32_t>(s.n_layer)));
  w->Set(a + "context_length", GgufValue::U32(static_cast<uint32_t>(s.n_ctx)));
  w->Set(a + "embedding_length", GgufValue::U32(static_cast<uint32_t>(s.n_embd)));
  w->Set(a + "feed_forward_length", GgufValue::U32(static_cast<uint32_t>(s.n_ff)));
  w->Set(a + "attention.head_count", GgufValue::U32(static_cast<uint32_t>(s.n_head)));
  w->Set(a + "attention.head_count_kv", GgufValue::U32(static_cast<uint32_t>(s.n_head_kv)));
  w->Set(a + "rope.freq_base", GgufValue::F32(static_cast<float>(s.rope_theta)));
  w->Set(a + "attention.layer_norm_rms_epsilon", GgufValue::F32(static_cast<float>(s.rms_eps)));
  const uint32_t file_type = s.weights == "q4_k_m" ? 15
                             : s.weights == "q8_0" ? 7
                             : s.weights == "f16"  ? 1
                                                   : 0;
  w->Set("general.file_type", GgufValue::U32(file_type));
  if (s.arch == "llama") {
    w->Set(a + "vocab_size", GgufValue::U32(static_cast<uint32_t>(s.n_vocab)));
    w->Set(a + "rope.dimension_count", GgufValue::U32(static_cast<uint32_t>(head_dim)));
  }
  if (file_type == 15 || file_type == 7) w->Set("general.quantization_version", GgufValue::U32(2));

  std::mt19937 rng(s.seed);
  std::normal_distribution<float> dist(0.0f, 0.02f);
  auto add = [&](const std::string& name, std::vector<int64_t> shape, uint64_t layer,
                 bool norm) -> Status {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = norm ? 1.0f + dist(rng) : dist(rng);
    const bool one_dim = shape.size() == 1;
    const DType t = one_dim ? DType::kF32 : WeightType(s, name, layer, shape[0]);
    SEEKD_ASSIGN_OR_RETURN(uint64_t row, RowBytes(t, static_cast<uint64_t>(shape[0])));
    std::vector<uint8_t> bytes(row * static_cast<uint64_t>(n / shape[0]));
    SEEKD_RETURN_IF_ERROR(Quantize(t, x.data(), bytes.data(), n));
    return w->AddTensor(name, t, std::move(shape), bytes);
  };
  const auto E = static_cast<int64_t>(s.n_embd), V = static_cast<int64_t>(s.n_vocab),
             F = static_cast<int64_t>(s.n_ff), KV = static_cast<int64_t>(n_embd_kv);
  SEEKD_RETURN_IF_ERROR(add("token_embd.weight", {E, V}, 0, false));
  for (uint64_t i = 0; i < s.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    SEEKD_RETURN_IF_ERROR(add(b + "attn_norm.weight", {E}, i, true));
    SEEKD_RETURN_IF_ERROR(add(b + "attn_q.weight", {E, E}, i, false));
    SEEKD_RETURN_IF_ERROR(add(b + "attn_k.weight", {E, KV}, i, false));
    SEEKD_RETURN_IF_ERROR(add(b + "attn_v.weight", {E, KV}, i, false));
    if (s.arch == "qwen2") {
      SEEKD_RETURN_IF_ERROR(add(b + "attn_q.bias", {E}, i, false));
      SEEKD_RETURN_IF_ERROR(add(b + "attn_k.bias", {KV}, i, false));
      SEEKD_RETURN_IF_ERROR(add(b + "attn_v.bias", {KV}, i, false));
    }
    SEEKD_RETURN_IF_ERROR(add(b + "attn_output.weight", {E, E}, i, false));
    SEEKD_RETURN_IF_ERROR(add(b + "ffn_norm.weight", {E}, i, true));
    SEEKD_RETURN_IF_ERROR(add(b + "ffn_gate.weight", {E, F}, i, false));
    SEEKD_RETURN_IF_ERROR(add(b + "ffn_up.weight", {E, F}, i, false));
    SEEKD_RETURN_IF_ERROR(add(b + "ffn_down.weight", {F, E}, i, false));
  }
  SEEKD_RETURN_IF_ERROR(add("output_norm.weight", {E}, 0, true));
  if (!s.tied_embeddings) SEEKD_RETURN_IF_ERROR(add("output.weight", {E, V}, 0, false));
  return Status::Ok();
}

}  // namespace seekd::model
