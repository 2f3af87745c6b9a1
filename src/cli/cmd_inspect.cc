// seekd inspect PATH [--json]: what a model file or folder holds.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "chat/chat_template.h"
#include "cli/commands.h"
#include "loader/loader.h"
#include "model/gguf.h"
#include "model/model_desc.h"

namespace seekd::cli {
namespace {

using nlohmann::json;

// Values stored as f32 in the file print as the f32 reads (1e-06, not 9.99999997e-07).
double Short(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.7g", v);
  return std::strtod(buf, nullptr);
}

json HyperParamsJson(const model::HyperParams& hp, const std::string& arch) {
  json j = {{"context_length", hp.n_ctx_train},
            {"embedding_length", hp.n_embd},
            {"block_count", hp.n_layer},
            {"head_count", hp.n_head},
            {"head_count_kv", hp.n_head_kv},
            {"feed_forward_length", hp.n_ff},
            {"vocab_size", hp.n_vocab},
            {"rms_norm_eps", Short(hp.rms_eps)},
            {"head_dim_k", hp.head_dim_k},
            {"head_dim_v", hp.head_dim_v},
            {"rope_dimension_count", hp.rope_dims},
            {"rope_freq_base", hp.rope_theta},
            {"rope_scaling", hp.rope_scaling},
            {"tied_embeddings", hp.tied_embeddings}};
  if (hp.rope_scaling != "none") {
    j["rope_scaling_factor"] = hp.rope_scaling_factor;
    j["rope_original_context_length"] = hp.rope_orig_ctx;
  }
  if (arch == "deepseek2") {
    j["expert_count"] = hp.n_expert;
    j["expert_used_count"] = hp.n_expert_used;
    j["expert_shared_count"] = hp.n_expert_shared;
    j["expert_feed_forward_length"] = hp.n_ff_expert;
    j["leading_dense_block_count"] = hp.n_leading_dense;
    j["expert_weights_scale"] = hp.expert_weights_scale;
    j["expert_weights_norm"] = hp.expert_weights_norm;
    j["expert_gating_func"] = hp.expert_gating;
    j["q_lora_rank"] = hp.q_lora_rank;
    j["kv_lora_rank"] = hp.kv_lora_rank;
    j["qk_rope_head_dim"] = hp.qk_rope_dim;
    j["qk_nope_head_dim"] = hp.qk_nope_dim;
    j["v_head_dim"] = hp.v_head_dim;
  }
  return j;
}

json TokenizerJson(const std::string& path) {
  auto tok = loader::LoadTokenizer(path);
  if (!tok.ok()) return {{"error", tok.status().ToString()}};
  const auto& s = tok->spec();
  json special = json::array();
  int n_control = 0, n_added = 0;
  for (size_t i = 0; i < s.token_types.size(); ++i) {
    if (s.token_types[i] == tok::kTokenControl) ++n_control;
    if (s.token_types[i] == tok::kTokenUserDefined) ++n_added;
    if ((s.token_types[i] == tok::kTokenControl || s.token_types[i] == tok::kTokenUserDefined) &&
        special.size() < 12 && s.tokens[i].find("place▁holder") == std::string::npos)
      special.push_back({{"id", i}, {"text", s.tokens[i]}});
  }
  auto text = [&](int32_t id) -> json { return id >= 0 ? json(s.tokens[id]) : json(nullptr); };
  return {{"type", s.model == "gpt2" ? "byte-level BPE" : s.model},
          {"pre_tokenizer",
           s.pre.empty()
               ? "from tokenizer.json (" + std::to_string(s.pre_split_regexes.size()) + " splits)"
               : s.pre},
          {"vocab_size", tok->vocab_size()},
          {"merges", s.merges.size()},
          {"bos", text(s.bos_id)},
          {"eos", text(s.eos_id)},
          {"add_bos", s.add_bos},
          {"control_tokens", n_control},
          {"added_tokens", n_added},
          {"special_tokens", special}};
}

json ChatTemplateJson(const std::string& path) {
  auto t = loader::LoadChatTemplate(path);
  if (!t.ok()) return {{"error", t.status().ToString()}};
  if (t->jinja.empty()) return {{"present", false}};
  auto id = chat::RecognizeTemplate(t->jinja);
  return {{"present", true},
          {"bytes", t->jinja.size()},
          {"recognized", id ? json(std::string(chat::TemplateName(*id))) : json(nullptr)}};
}

Result<json> Inspect(const std::string& path) {
  SEEKD_ASSIGN_OR_RETURN(loader::SourceKind kind, loader::DetectSource(path));
  json out = {{"path", path}};
  if (kind == loader::SourceKind::kTokenizerJson) {
    out["format"] = "tokenizer.json";
  } else {
    model::ModelDescription d;
    if (kind == loader::SourceKind::kGguf) {
      SEEKD_ASSIGN_OR_RETURN(model::GgufFile f, model::GgufFile::Open(path));
      SEEKD_ASSIGN_OR_RETURN(d, model::DescribeGguf(f));
      out["gguf_version"] = f.version();
      out["alignment"] = f.alignment();
    } else {
      SEEKD_ASSIGN_OR_RETURN(d, model::DescribeHfFolder(path));
    }
    out["format"] = d.format;
    out["architecture"] = d.architecture;
    out["architecture_supported"] = model::KnownArchitecture(d.architecture);
    out["name"] = d.name;
    out["file_bytes"] = d.file_bytes;
    if (d.file_type) out["file_type"] = d.file_type;
    out["hyperparameters"] = HyperParamsJson(d.hp, d.architecture);
    out["tensor_count"] = d.tensors.size();
    out["dtype_mix"] = d.DTypeMix();
    out["parameter_count"] = d.ParameterCount();
  }
  out["tokenizer"] = TokenizerJson(path);
  out["chat_template"] = ChatTemplateJson(path);
  return out;
}

std::string Human(uint64_t n) {
  const char* units[] = {"", "K", "M", "B", "T"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) v /= 1000, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.2f%s" : "%.0f%s", v, units[u]);
  return buf;
}

void PrintText(const json& j) {
  auto line = [](const std::string& k, const json& v) {
    std::cout << "  " << k << std::string(k.size() < 22 ? 22 - k.size() : 1, ' ')
              << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  };
  std::cout << j["path"].get<std::string>() << "\n";
  for (const char* k :
       {"format", "gguf_version", "architecture", "name", "file_type", "tensor_count", "dtype_mix"})
    if (j.contains(k)) line(k, j[k]);
  if (j.contains("parameter_count")) line("parameters", Human(j["parameter_count"]));
  if (j.contains("file_bytes")) line("file size", Human(j["file_bytes"]) + "B");
  if (j.contains("hyperparameters")) {
    std::cout << "hyper-parameters\n";
    for (auto& [k, v] : j["hyperparameters"].items()) line(k, v);
  }
  std::cout << "tokenizer\n";
  for (auto& [k, v] : j["tokenizer"].items())
    if (k != "special_tokens") line(k, v);
  if (j["tokenizer"].contains("special_tokens")) {
    std::string s;
    for (const auto& t : j["tokenizer"]["special_tokens"]) s += t["text"].get<std::string>() + " ";
    line("special (first)", s);
  }
  std::cout << "chat template\n";
  for (auto& [k, v] : j["chat_template"].items()) line(k, v);
}

CommandRegistrar reg("inspect", [](CLI::App& app, int* exit_code) {
  auto path = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  CLI::App* c = app.add_subcommand("inspect", "Describe a model: GGUF file or Hugging Face folder");
  c->add_option("path", *path, "GGUF file, model folder or tokenizer.json")->required();
  c->add_flag("--json", *as_json, "print JSON");
  c->callback([path, as_json, exit_code] {
    auto r = Inspect(*path);
    if (!r.ok()) {
      std::cerr << "seekd inspect: " << r.status().ToString() << "\n";
      *exit_code = 1;
      return;
    }
    if (*as_json)
      std::cout << r->dump(2, ' ', false, json::error_handler_t::replace) << "\n";
    else
      PrintText(*r);
  });
});

}  // namespace
}  // namespace seekd::cli
