#include "model/model_desc.h"

#include <algorithm>
#include <map>

#include "model/gguf.h"

namespace seekd::model {

bool KnownArchitecture(const std::string& arch) {
  return arch == "llama" || arch == "qwen2" || arch == "deepseek2";
}

bool HasAttentionBias(const std::vector<TensorDesc>& tensors) {
  for (const auto& t : tensors)
    for (const char* s : {".attn_q.bias", ".attn_k.bias", ".attn_v.bias", ".attn_output.bias"})
      if (t.name.starts_with("blk.") && t.name.ends_with(s)) return true;
  return false;
}

uint64_t ModelDescription::ParameterCount() const {
  uint64_t n = 0;
  for (const auto& t : tensors) n += t.n_elements;
  return n;
}

std::string ModelDescription::DTypeMix() const {
  std::map<std::string, int> count;
  for (const auto& t : tensors)
    ++count[t.dtype_name.empty() ? std::string(DTypeName(t.dtype)) : t.dtype_name];
  std::vector<std::pair<std::string, int>> v(count.begin(), count.end());
  std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
  std::string s;
  for (const auto& [name, n] : v) s += (s.empty() ? "" : ", ") + name + " × " + std::to_string(n);
  return s;
}

namespace {

// Reads `{arch}.<key>` into *out when present; type errors propagate.
Status U(const GgufFile& f, const std::string& key, uint64_t* out) {
  if (!f.Find(key)) return Status::Ok();
  SEEKD_ASSIGN_OR_RETURN(*out, f.GetUInt(key));
  return Status::Ok();
}
Status F(const GgufFile& f, const std::string& key, double* out) {
  if (!f.Find(key)) return Status::Ok();
  SEEKD_ASSIGN_OR_RETURN(*out, f.GetFloat(key));
  return Status::Ok();
}

// head_count_kv may be an array (per layer) in some files: take the first.
Status HeadCountKv(const GgufFile& f, const std::string& key, uint64_t* out) {
  const GgufValue* v = f.Find(key);
  if (!v) return Status::Ok();
  if (v->type() == GgufType::kArray && v->size() > 0 && v->elements()[0].AsUInt()) {
    *out = *v->elements()[0].AsUInt();
    return Status::Ok();
  }
  return U(f, key, out);
}

// deepseek2's mixture-of-experts and multi-head latent attention keys.
Status ReadMoeAndMla(const GgufFile& f, const std::string& a, HyperParams* h) {
  HyperParams& hp = *h;
  SEEKD_RETURN_IF_ERROR(U(f, a + "expert_count", &hp.n_expert));
  SEEKD_RETURN_IF_ERROR(U(f, a + "expert_used_count", &hp.n_expert_used));
  SEEKD_RETURN_IF_ERROR(U(f, a + "expert_shared_count", &hp.n_expert_shared));
  SEEKD_RETURN_IF_ERROR(U(f, a + "expert_feed_forward_length", &hp.n_ff_expert));
  SEEKD_RETURN_IF_ERROR(U(f, a + "leading_dense_block_count", &hp.n_leading_dense));
  SEEKD_RETURN_IF_ERROR(F(f, a + "expert_weights_scale", &hp.expert_weights_scale));
  if (f.Find(a + "expert_weights_norm")) {
    SEEKD_ASSIGN_OR_RETURN(hp.expert_weights_norm, f.GetBool(a + "expert_weights_norm"));
  }
  uint64_t gating = 1;
  SEEKD_RETURN_IF_ERROR(U(f, a + "expert_gating_func", &gating));
  hp.expert_gating = gating == 2 ? "sigmoid" : "softmax";
  SEEKD_RETURN_IF_ERROR(U(f, a + "attention.q_lora_rank", &hp.q_lora_rank));
  SEEKD_RETURN_IF_ERROR(U(f, a + "attention.kv_lora_rank", &hp.kv_lora_rank));
  if (hp.kv_lora_rank > 0) {
    hp.qk_rope_dim = hp.rope_dims;
    uint64_t k_mla = 0, v_mla = 0;
    SEEKD_RETURN_IF_ERROR(U(f, a + "attention.key_length_mla", &k_mla));
    SEEKD_RETURN_IF_ERROR(U(f, a + "attention.value_length_mla", &v_mla));
    const uint64_t k = k_mla ? k_mla : hp.head_dim_k;  // legacy files: key_length is nope+rope
    hp.qk_nope_dim = k > hp.qk_rope_dim ? k - hp.qk_rope_dim : 0;
    hp.v_head_dim = v_mla ? v_mla : hp.head_dim_v;
    // The model's attention, not the file's MQA view (see HyperParams).
    hp.n_head_kv = hp.n_head;
    hp.head_dim_k = hp.qk_nope_dim + hp.qk_rope_dim;
    hp.head_dim_v = hp.v_head_dim;
  }
  return Status::Ok();
}

}  // namespace

Result<ModelDescription> DescribeGguf(const GgufFile& f) {
  ModelDescription d;
  d.format = "gguf";
  d.file_bytes = f.file_size();
  SEEKD_ASSIGN_OR_RETURN(d.architecture, f.GetString("general.architecture"));
  if (f.Find("general.name")) {
    SEEKD_ASSIGN_OR_RETURN(d.name, f.GetString("general.name"));
  }
  SEEKD_RETURN_IF_ERROR(U(f, "general.file_type", &d.file_type));
  const std::string a = d.architecture + ".";
  HyperParams& hp = d.hp;
  SEEKD_RETURN_IF_ERROR(U(f, a + "context_length", &hp.n_ctx_train));
  SEEKD_RETURN_IF_ERROR(U(f, a + "embedding_length", &hp.n_embd));
  SEEKD_RETURN_IF_ERROR(U(f, a + "block_count", &hp.n_layer));
  SEEKD_RETURN_IF_ERROR(U(f, a + "feed_forward_length", &hp.n_ff));
  SEEKD_RETURN_IF_ERROR(U(f, a + "attention.head_count", &hp.n_head));
  hp.n_head_kv = hp.n_head;
  SEEKD_RETURN_IF_ERROR(HeadCountKv(f, a + "attention.head_count_kv", &hp.n_head_kv));
  SEEKD_RETURN_IF_ERROR(F(f, a + "attention.layer_norm_rms_epsilon", &hp.rms_eps));
  if (hp.n_head > 0) hp.head_dim_k = hp.head_dim_v = hp.n_embd / hp.n_head;
  SEEKD_RETURN_IF_ERROR(U(f, a + "attention.key_length", &hp.head_dim_k));
  SEEKD_RETURN_IF_ERROR(U(f, a + "attention.value_length", &hp.head_dim_v));
  hp.rope_dims = hp.head_dim_k;
  SEEKD_RETURN_IF_ERROR(U(f, a + "rope.dimension_count", &hp.rope_dims));
  SEEKD_RETURN_IF_ERROR(F(f, a + "rope.freq_base", &hp.rope_theta));
  if (f.Find(a + "rope.scaling.type")) {
    SEEKD_ASSIGN_OR_RETURN(hp.rope_scaling, f.GetString(a + "rope.scaling.type"));
  }
  SEEKD_RETURN_IF_ERROR(F(f, a + "rope.scaling.factor", &hp.rope_scaling_factor));
  if (f.Find(a + "rope.scale_linear")) {  // legacy alias
    hp.rope_scaling = "linear";
    SEEKD_RETURN_IF_ERROR(F(f, a + "rope.scale_linear", &hp.rope_scaling_factor));
  }
  SEEKD_RETURN_IF_ERROR(U(f, a + "rope.scaling.original_context_length", &hp.rope_orig_ctx));
  SEEKD_RETURN_IF_ERROR(F(f, a + "rope.scaling.yarn_log_multiplier", &hp.yarn_log_multiplier));
  SEEKD_RETURN_IF_ERROR(F(f, a + "rope.scaling.yarn_beta_fast", &hp.yarn_beta_fast));
  SEEKD_RETURN_IF_ERROR(F(f, a + "rope.scaling.yarn_beta_slow", &hp.yarn_beta_slow));
  SEEKD_RETURN_IF_ERROR(F(f, a + "rope.scaling.attn_factor", &hp.rope_attn_factor));
  SEEKD_RETURN_IF_ERROR(ReadMoeAndMla(f, a, &hp));
  for (const auto& t : f.tensors())
    d.tensors.push_back(
        {t.name, t.dtype, std::string(DTypeName(t.dtype)), t.shape, t.n_bytes, t.n_elements});
  const GgufValue* tokens = f.Find("tokenizer.ggml.tokens");
  hp.n_vocab = tokens ? tokens->size() : 0;
  SEEKD_RETURN_IF_ERROR(U(f, a + "vocab_size", &hp.n_vocab));
  if (hp.n_vocab == 0)  // no tokenizer and no vocab_size key: the embedding's rows
    if (const GgufTensorInfo* emb = f.FindTensor("token_embd.weight");
        emb && emb->shape.size() == 2)
      hp.n_vocab = static_cast<uint64_t>(emb->shape[1]);
  hp.attention_bias = HasAttentionBias(d.tensors);
  hp.tied_embeddings =
      f.FindTensor("output.weight") == nullptr && f.FindTensor("token_embd.weight") != nullptr;
  return d;
}

}  // namespace seekd::model
