// Hugging Face model folders: config.json → HyperParams, safetensors → tensor table.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <map>
#include <regex>
#include <set>

#include "core/mapped_file.h"
#include "model/model_desc.h"
#include "model/safetensors.h"

namespace seekd::model {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string GgufNameFromHf(const std::string& hf) {
  static const std::vector<std::pair<std::string, std::string>> kTop = {
      {"model.embed_tokens.weight", "token_embd.weight"},
      {"model.norm.weight", "output_norm.weight"},
      {"lm_head.weight", "output.weight"},
  };
  for (const auto& [from, to] : kTop)
    if (hf == from) return to;
  static const std::regex kLayer(R"(model\.layers\.(\d+)\.(.+))");
  std::smatch m;
  if (!std::regex_match(hf, m, kLayer)) return hf;
  static const std::vector<std::pair<std::string, std::string>> kParts = {
      {"input_layernorm.weight", "attn_norm.weight"},
      {"post_attention_layernorm.weight", "ffn_norm.weight"},
      {"self_attn.q_proj.", "attn_q."},
      {"self_attn.k_proj.", "attn_k."},
      {"self_attn.v_proj.", "attn_v."},
      {"self_attn.o_proj.", "attn_output."},
      {"self_attn.q_a_proj.", "attn_q_a."},
      {"self_attn.q_a_layernorm.", "attn_q_a_norm."},
      {"self_attn.q_b_proj.", "attn_q_b."},
      {"self_attn.kv_a_proj_with_mqa.", "attn_kv_a_mqa."},
      {"self_attn.kv_a_layernorm.", "attn_kv_a_norm."},
      {"self_attn.kv_b_proj.", "attn_kv_b."},
      {"mlp.gate_proj.", "ffn_gate."},
      {"mlp.up_proj.", "ffn_up."},
      {"mlp.down_proj.", "ffn_down."},
      {"mlp.gate.e_score_correction_bias", "exp_probs_b.bias"},
      {"mlp.gate.weight", "ffn_gate_inp.weight"},
      {"mlp.shared_experts.gate_proj.", "ffn_gate_shexp."},
      {"mlp.shared_experts.up_proj.", "ffn_up_shexp."},
      {"mlp.shared_experts.down_proj.", "ffn_down_shexp."},
  };
  const std::string blk = "blk." + m[1].str() + ".", rest = m[2].str();
  for (const auto& [from, to] : kParts)
    if (rest.rfind(from, 0) == 0) return blk + to + rest.substr(from.size());
  // Routed experts stay one tensor each: blk.N.ffn_gate_exps.E.weight.
  static const std::regex kExpert(R"(mlp\.experts\.(\d+)\.(gate|up|down)_proj\.(.+))");
  if (std::regex_match(rest, m, kExpert))
    return blk + "ffn_" + m[2].str() + "_exps." + m[1].str() + "." + m[3].str();
  return hf;
}

namespace {

template <typename T>
void Get(const json& j, const char* key, T* out) {
  if (j.contains(key) && !j[key].is_null()) *out = j[key].get<T>();
}

Status ReadConfig(const json& c, ModelDescription* d) {
  const std::string type = c.value("model_type", "");
  if (type == "llama" || type == "mistral")
    d->architecture = "llama";
  else if (type == "qwen2")
    d->architecture = "qwen2";
  else if (type == "deepseek_v2" || type == "deepseek_v3")
    d->architecture = "deepseek2";
  else
    return Unsupported("config.json model_type '" + type +
                       "' (seekd knows llama, qwen2, deepseek_v2, deepseek_v3)");
  HyperParams& hp = d->hp;
  Get(c, "max_position_embeddings", &hp.n_ctx_train);
  Get(c, "hidden_size", &hp.n_embd);
  Get(c, "num_hidden_layers", &hp.n_layer);
  Get(c, "num_attention_heads", &hp.n_head);
  hp.n_head_kv = hp.n_head;
  Get(c, "num_key_value_heads", &hp.n_head_kv);
  Get(c, "intermediate_size", &hp.n_ff);
  Get(c, "vocab_size", &hp.n_vocab);
  Get(c, "rms_norm_eps", &hp.rms_eps);
  Get(c, "rope_theta", &hp.rope_theta);
  Get(c, "tie_word_embeddings", &hp.tied_embeddings);
  if (hp.n_head > 0) hp.head_dim_k = hp.head_dim_v = hp.n_embd / hp.n_head;
  Get(c, "head_dim", &hp.head_dim_k);
  Get(c, "head_dim", &hp.head_dim_v);
  hp.rope_dims = hp.head_dim_k;
  if (c.contains("rope_scaling") && c["rope_scaling"].is_object()) {
    const json& rs = c["rope_scaling"];
    std::string t = rs.value("type", rs.value("rope_type", "none"));
    hp.rope_scaling = t;
    Get(rs, "factor", &hp.rope_scaling_factor);
    Get(rs, "original_max_position_embeddings", &hp.rope_orig_ctx);
    double mscale_all_dim = 0;
    Get(rs, "mscale_all_dim", &mscale_all_dim);
    hp.yarn_log_multiplier = 0.1 * mscale_all_dim;
    Get(rs, "beta_fast", &hp.yarn_beta_fast);
    Get(rs, "beta_slow", &hp.yarn_beta_slow);
    Get(rs, "attention_factor", &hp.rope_attn_factor);
    Get(rs, "low_freq_factor", &hp.llama3_low_freq_factor);
    Get(rs, "high_freq_factor", &hp.llama3_high_freq_factor);
  }
  if (d->architecture == "deepseek2") {
    Get(c, "moe_intermediate_size", &hp.n_ff_expert);
    Get(c, "n_routed_experts", &hp.n_expert);
    Get(c, "num_experts_per_tok", &hp.n_expert_used);
    Get(c, "n_shared_experts", &hp.n_expert_shared);
    Get(c, "first_k_dense_replace", &hp.n_leading_dense);
    Get(c, "routed_scaling_factor", &hp.expert_weights_scale);
    Get(c, "norm_topk_prob", &hp.expert_weights_norm);
    if (c.value("scoring_func", "softmax") == "sigmoid") hp.expert_gating = "sigmoid";
    Get(c, "q_lora_rank", &hp.q_lora_rank);
    Get(c, "kv_lora_rank", &hp.kv_lora_rank);
    Get(c, "qk_rope_head_dim", &hp.qk_rope_dim);
    Get(c, "qk_nope_head_dim", &hp.qk_nope_dim);
    Get(c, "v_head_dim", &hp.v_head_dim);
    hp.rope_dims = hp.qk_rope_dim;
    hp.head_dim_k = hp.qk_nope_dim + hp.qk_rope_dim;
    hp.head_dim_v = hp.v_head_dim;
    hp.n_head_kv = hp.n_head;  // MLA decompresses to one K/V per query head
  }
  return Status::Ok();
}

Result<std::vector<std::string>> SafetensorsFiles(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir / "model.safetensors.index.json", ec)) {
    SEEKD_ASSIGN_OR_RETURN(std::string text,
                           ReadFileToString((dir / "model.safetensors.index.json").string()));
    std::set<std::string> files;
    try {
      for (const auto& [name, file] : json::parse(text).at("weight_map").items())
        files.insert(file.get<std::string>());
    } catch (const json::exception& e) {
      return Corrupt(std::string("model.safetensors.index.json: ") + e.what());
    }
    std::vector<std::string> out;
    for (const auto& f : files) {
      if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
        return Corrupt("model.safetensors.index.json names a file outside the folder: " + f);
      out.push_back((dir / f).string());
    }
    return out;
  }
  if (fs::exists(dir / "model.safetensors", ec))
    return std::vector<std::string>{(dir / "model.safetensors").string()};
  return NotFound("no model.safetensors or model.safetensors.index.json in '" + dir.string() + "'");
}

DType DTypeFromSafetensors(const std::string& d) {
  if (d == "F16") return DType::kF16;
  if (d == "BF16") return DType::kBF16;
  if (d == "F64") return DType::kF64;
  if (d == "I32") return DType::kI32;
  if (d == "I64") return DType::kI64;
  if (d == "I16") return DType::kI16;
  if (d == "I8" || d == "U8" || d == "F8_E4M3" || d == "F8_E5M2" || d == "BOOL") return DType::kI8;
  return DType::kF32;
}

// Routed experts: blk.N.ffn_gate_exps.E.weight × n_expert → blk.N.ffn_gate_exps.weight with
// ne [in, out, n_expert], when every index 0..n-1 is there with the same shape and dtype.
void StackExperts(std::vector<TensorDesc>* tensors) {
  static const std::regex kExpert(R"((blk\.\d+\.ffn_(?:gate|up|down)_exps)\.(\d{1,9})\.weight)");
  std::map<std::string, std::map<uint64_t, size_t>> groups;  // stacked name → index → position
  for (size_t i = 0; i < tensors->size(); ++i) {
    std::smatch m;
    if (std::regex_match((*tensors)[i].name, m, kExpert))
      groups[m[1].str() + ".weight"][std::stoull(m[2].str())] = i;
  }
  std::vector<bool> drop(tensors->size(), false);
  std::vector<TensorDesc> stacked;
  for (const auto& [name, members] : groups) {
    const TensorDesc& first = (*tensors)[members.begin()->second];
    bool uniform = members.rbegin()->first + 1 == members.size() && first.shape.size() == 2;
    for (const auto& [e, pos] : members)
      uniform = uniform && (*tensors)[pos].shape == first.shape &&
                (*tensors)[pos].dtype_name == first.dtype_name;
    if (!uniform) continue;
    TensorDesc t = first;
    t.name = name;
    t.shape.push_back(static_cast<int64_t>(members.size()));
    t.n_bytes = t.n_elements = 0;
    for (const auto& [e, pos] : members) {
      t.n_bytes += (*tensors)[pos].n_bytes;
      t.n_elements += (*tensors)[pos].n_elements;
      drop[pos] = true;
    }
    stacked.push_back(std::move(t));
  }
  std::vector<TensorDesc> kept;
  for (size_t i = 0; i < tensors->size(); ++i)
    if (!drop[i]) kept.push_back(std::move((*tensors)[i]));
  for (auto& t : stacked) kept.push_back(std::move(t));
  *tensors = std::move(kept);
}

// kv_b_proj (ne [kv_lora, n_head·(qk_nope + v)], per head the nope rows then the v rows) →
// attn_k_b ne [qk_nope, kv_lora, n_head] and attn_v_b ne [kv_lora, v, n_head].
void SplitKvB(const HyperParams& hp, std::vector<TensorDesc>* tensors) {
  constexpr uint64_t kSane = uint64_t{1} << 24;  // config.json is untrusted: keep products small
  for (uint64_t x : {hp.kv_lora_rank, hp.n_head, hp.qk_nope_dim, hp.v_head_dim})
    if (x > kSane) return;
  if (hp.kv_lora_rank == 0 || hp.n_head == 0 || hp.qk_nope_dim + hp.v_head_dim == 0) return;
  const auto kvl = static_cast<int64_t>(hp.kv_lora_rank), h = static_cast<int64_t>(hp.n_head);
  const auto nope = static_cast<int64_t>(hp.qk_nope_dim), v = static_cast<int64_t>(hp.v_head_dim);
  std::vector<TensorDesc> out;
  for (auto& t : *tensors) {
    if (!t.name.ends_with(".attn_kv_b.weight") ||
        t.shape != std::vector<int64_t>{kvl, h * (nope + v)}) {
      out.push_back(std::move(t));
      continue;
    }
    const std::string blk =
        t.name.substr(0, t.name.size() - std::string("attn_kv_b.weight").size());
    TensorDesc k = t, vb = t;
    k.name = blk + "attn_k_b.weight";
    k.shape = {nope, kvl, h};
    k.n_elements = static_cast<uint64_t>(nope * kvl * h);
    k.n_bytes = t.n_bytes / t.n_elements * k.n_elements;
    vb.name = blk + "attn_v_b.weight";
    vb.shape = {kvl, v, h};
    vb.n_elements = static_cast<uint64_t>(kvl * v * h);
    vb.n_bytes = t.n_bytes - k.n_bytes;
    out.push_back(std::move(k));
    out.push_back(std::move(vb));
  }
  *tensors = std::move(out);
}

}  // namespace

Result<ModelDescription> DescribeHfFolder(const std::string& dir_str) {
  const fs::path dir(dir_str);
  ModelDescription d;
  d.format = "safetensors";
  d.name = dir.filename().string();
  if (d.name.empty()) d.name = dir.parent_path().filename().string();
  SEEKD_ASSIGN_OR_RETURN(std::string cfg_text, ReadFileToString((dir / "config.json").string()));
  try {
    const json c = json::parse(cfg_text);
    if (!c.is_object()) return Corrupt("config.json is not a JSON object");
    if (Status st = ReadConfig(c, &d); !st.ok())
      return st.WithContext((dir / "config.json").string());
  } catch (const json::exception& e) {
    return InvalidArgument((dir / "config.json").string() + ": " + e.what());
  }
  SEEKD_ASSIGN_OR_RETURN(std::vector<std::string> files, SafetensorsFiles(dir));
  for (const auto& path : files) {
    SEEKD_ASSIGN_OR_RETURN(SafetensorsFile f, SafetensorsFile::Open(path));
    d.file_bytes += f.file_size();
    for (const auto& t : f.tensors()) {
      TensorDesc td;
      td.name = GgufNameFromHf(t.name);
      td.dtype = DTypeFromSafetensors(t.dtype);
      td.dtype_name = t.dtype;
      td.shape.assign(t.shape.rbegin(), t.shape.rend());  // PyTorch [out, in] → ne [in, out]
      td.n_bytes = t.end - t.begin;
      td.n_elements = 1;
      for (auto x : t.shape) td.n_elements *= static_cast<uint64_t>(x);
      d.tensors.push_back(std::move(td));
    }
  }
  if (d.architecture == "deepseek2") {
    StackExperts(&d.tensors);
    SplitKvB(d.hp, &d.tensors);
  }
  d.hp.attention_bias = HasAttentionBias(d.tensors);
  std::sort(d.tensors.begin(), d.tensors.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  if (!d.hp.tied_embeddings) {
    bool has_output = false;
    for (const auto& t : d.tensors) has_output |= t.name == "output.weight";
    d.hp.tied_embeddings = !has_output;
  }
  return d;
}

Result<std::vector<std::string>> HfSafetensorsFiles(const std::string& dir) {
  return SafetensorsFiles(fs::path(dir));
}

}  // namespace seekd::model
