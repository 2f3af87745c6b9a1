// Hugging Face tokenizer.json → VocabSpec. Only the shapes byte-level BPE models use are
// accepted; anything else is an Unsupported error naming the component.
#include <nlohmann/json.hpp>

#include <filesystem>

#include "core/mapped_file.h"
#include "tokenizer/tokenizer.h"

namespace seekd::tok {

namespace {
using json = nlohmann::json;

// The GPT-2 split that ByteLevel(use_regex = true) applies.
constexpr const char* kByteLevelRegex =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

Status AddPreTokenizer(const json& p, VocabSpec* spec) {
  if (p.is_null()) return Status::Ok();
  const std::string type = p.value("type", "");
  if (type == "Sequence") {
    for (const auto& sub : p.at("pretokenizers")) SEEKD_RETURN_IF_ERROR(AddPreTokenizer(sub, spec));
    return Status::Ok();
  }
  if (type == "Split") {
    const auto& pat = p.at("pattern");
    if (!pat.contains("Regex")) return Unsupported("pre_tokenizer Split with a String pattern");
    if (p.value("behavior", "") != "Isolated" || p.value("invert", false))
      return Unsupported("pre_tokenizer Split with behavior '" + p.value("behavior", "") + "'");
    spec->pre_split_regexes.push_back(pat.at("Regex").get<std::string>());
    return Status::Ok();
  }
  if (type == "ByteLevel") {
    if (p.value("add_prefix_space", false))
      return Unsupported("pre_tokenizer ByteLevel with add_prefix_space");
    if (p.value("use_regex", true)) spec->pre_split_regexes.push_back(kByteLevelRegex);
    return Status::Ok();
  }
  if (type == "Digits") {
    // Hugging Face's Digits splits on every numeric character (categories Nd, Nl, No), not just
    // ASCII digits, which is \p{N} (transformers.js uses ASCII \d here; the model's own
    // tokenizer and llama.cpp's tables follow \p{N}).
    spec->pre_split_regexes.push_back(p.value("individual_digits", false) ? "\\p{N}" : "\\p{N}+");
    return Status::Ok();
  }
  return Unsupported("pre_tokenizer type '" + type + "'");
}

Status ReadNormalizer(const json& n, VocabSpec* spec) {
  if (n.is_null()) return Status::Ok();
  const std::string type = n.value("type", "");
  if (type == "NFC") {
    spec->normalizer = "nfc";
    return Status::Ok();
  }
  if (type == "Sequence") {
    for (const auto& sub : n.at("normalizers")) SEEKD_RETURN_IF_ERROR(ReadNormalizer(sub, spec));
    return Status::Ok();
  }
  return Unsupported("normalizer type '" + type + "'");
}

// tokenizer_config.json's bos/eos entries are a string or {"content": ...}.
std::string TokenContent(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return "";
}

Result<VocabSpec> Parse(const json& tj, const json& cfg) {
  VocabSpec spec;
  const json& model = tj.at("model");
  if (model.value("type", "BPE") != "BPE")
    return Unsupported("tokenizer model type '" + model.value("type", "") + "'");
  if (model.value("byte_fallback", false))
    return Unsupported("BPE with byte_fallback (SentencePiece-style)");
  spec.ignore_merges = model.value("ignore_merges", false);
  const json& vocab = model.at("vocab");
  if (!vocab.is_object()) return InvalidArgument("model.vocab is not an object");
  constexpr int64_t kMaxId = int64_t{1} << 24;
  size_t n = vocab.size();
  const json added = tj.value("added_tokens", json::array());
  if (!added.is_array()) return InvalidArgument("added_tokens is not an array");
  for (const auto& at : added) {
    const auto id = at.at("id").get<int64_t>();
    if (id < 0 || id >= kMaxId)
      return InvalidArgument("added token '" + at.value("content", "") + "' has id " +
                             std::to_string(id));
    // Whitespace-stripping and whole-word added tokens change the text around the match; no
    // supported family uses them, so refuse rather than tokenize differently.
    for (const char* flag : {"lstrip", "rstrip", "single_word"})
      if (at.contains(flag) && at[flag].is_boolean() && at[flag].get<bool>())
        return Unsupported("added token '" + at.value("content", "") + "' with " + flag);
    n = std::max(n, static_cast<size_t>(id) + 1);
  }
  if (n > static_cast<size_t>(kMaxId))
    return InvalidArgument("vocabulary of " + std::to_string(n) + " tokens is too large");
  spec.tokens.assign(n, "");
  spec.token_types.assign(n, kTokenUnused);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const auto id = it.value().get<int64_t>();
    if (id < 0 || static_cast<size_t>(id) >= n)
      return InvalidArgument("token '" + it.key() + "' has id " + std::to_string(id));
    spec.tokens[id] = it.key();
    spec.token_types[id] = kTokenNormal;
  }
  for (const auto& at : added) {
    const auto id = static_cast<size_t>(at.at("id").get<int64_t>());
    spec.tokens[id] = at.at("content").get<std::string>();
    spec.token_types[id] = at.value("special", false) ? kTokenControl : kTokenUserDefined;
  }
  for (const auto& m : model.at("merges")) {
    if (m.is_string())
      spec.merges.push_back(m.get<std::string>());
    else if (m.is_array() && m.size() == 2)
      spec.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    else
      return InvalidArgument("a merge is neither \"a b\" nor [\"a\", \"b\"]");
  }
  SEEKD_RETURN_IF_ERROR(ReadNormalizer(tj.value("normalizer", json()), &spec));
  SEEKD_RETURN_IF_ERROR(AddPreTokenizer(tj.value("pre_tokenizer", json()), &spec));
  if (spec.pre_split_regexes.empty()) spec.pre = "gpt2";
  if (cfg.is_object()) {
    auto find = [&](const char* key) -> int32_t {
      if (!cfg.contains(key)) return -1;
      const std::string s = TokenContent(cfg[key]);
      for (size_t i = 0; i < spec.tokens.size(); ++i)
        if (!s.empty() && spec.tokens[i] == s) return static_cast<int32_t>(i);
      return -1;
    };
    spec.bos_id = find("bos_token");
    spec.eos_id = find("eos_token");
    spec.pad_id = find("pad_token");
    spec.unk_id = find("unk_token");
    spec.add_bos = cfg.value("add_bos_token", false);
    spec.add_eos = cfg.value("add_eos_token", false);
  }
  return spec;
}
}  // namespace

Result<VocabSpec> VocabSpecFromHf(std::string_view tokenizer_json,
                                  std::string_view tokenizer_config_json) {
  try {
    const json tj = json::parse(tokenizer_json);
    const json cfg = tokenizer_config_json.empty() ? json() : json::parse(tokenizer_config_json);
    return Parse(tj, cfg);
  } catch (const json::exception& e) {
    return InvalidArgument(std::string("tokenizer.json: ") + e.what());
  }
}

Result<VocabSpec> LoadHfTokenizer(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::path tj = path, cfg;
  if (fs::is_directory(tj, ec)) {
    cfg = tj / "tokenizer_config.json";
    tj /= "tokenizer.json";
  } else {
    cfg = tj.parent_path() / "tokenizer_config.json";
  }
  SEEKD_ASSIGN_OR_RETURN(std::string tok_text, ReadFileToString(tj.string()));
  std::string cfg_text;
  if (fs::exists(cfg, ec)) {
    SEEKD_ASSIGN_OR_RETURN(cfg_text, ReadFileToString(cfg.string()));
  }
  auto spec = VocabSpecFromHf(tok_text, cfg_text);
  if (!spec.ok()) return spec.status().WithContext(tj.string());
  return spec;
}

}  // namespace seekd::tok
