#include "loader/loader.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/mapped_file.h"

namespace seekd::loader {

namespace fs = std::filesystem;
using model::GgufFile;
using model::GgufType;
using model::GgufValue;

Result<SourceKind> DetectSource(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(fs::path(path) / "config.json", ec) ||
        fs::exists(fs::path(path) / "tokenizer.json", ec))
      return SourceKind::kHfFolder;
    return InvalidArgument("'" + path + "' is a folder without config.json or tokenizer.json");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open '" + path + "': " + std::strerror(errno));
  char magic[4] = {};
  in.read(magic, 4);
  if (in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0) return SourceKind::kGguf;
  if (fs::path(path).extension() == ".json") return SourceKind::kTokenizerJson;
  return InvalidArgument("'" + path +
                         "' is neither a GGUF file, a model folder nor a tokenizer.json");
}

namespace {
Result<int32_t> OptionalId(const GgufFile& f, const char* key, size_t n_vocab) {
  if (!f.Find(key)) return -1;
  SEEKD_ASSIGN_OR_RETURN(uint64_t id, f.GetUInt(key));
  if (id >= n_vocab)
    return Corrupt(std::string(key) + " = " + std::to_string(id) + " is outside the vocabulary");
  return static_cast<int32_t>(id);
}
}  // namespace

Result<tok::VocabSpec> VocabSpecFromGguf(const GgufFile& f) {
  tok::VocabSpec s;
  if (!f.Find("tokenizer.ggml.model"))
    return NotFound("the file has no tokenizer (tokenizer.ggml.model is missing)");
  SEEKD_ASSIGN_OR_RETURN(s.model, f.GetString("tokenizer.ggml.model"));
  if (f.Find("tokenizer.ggml.pre")) {
    SEEKD_ASSIGN_OR_RETURN(s.pre, f.GetString("tokenizer.ggml.pre"));
  }
  SEEKD_ASSIGN_OR_RETURN(s.tokens, f.GetStringArray("tokenizer.ggml.tokens"));
  if (const GgufValue* types = f.Find("tokenizer.ggml.token_type")) {
    if (types->type() != GgufType::kArray || types->size() != s.tokens.size())
      return Corrupt("tokenizer.ggml.token_type must be an array with one entry per token");
    for (const auto& t : types->elements()) {
      auto v = t.AsInt();
      if (!v) return Corrupt("tokenizer.ggml.token_type holds a non-integer");
      s.token_types.push_back(static_cast<int32_t>(*v));
    }
  }
  if (f.Find("tokenizer.ggml.merges")) {
    SEEKD_ASSIGN_OR_RETURN(s.merges, f.GetStringArray("tokenizer.ggml.merges"));
  }
  const size_t n = s.tokens.size();
  SEEKD_ASSIGN_OR_RETURN(s.bos_id, OptionalId(f, "tokenizer.ggml.bos_token_id", n));
  SEEKD_ASSIGN_OR_RETURN(s.eos_id, OptionalId(f, "tokenizer.ggml.eos_token_id", n));
  SEEKD_ASSIGN_OR_RETURN(s.pad_id, OptionalId(f, "tokenizer.ggml.padding_token_id", n));
  SEEKD_ASSIGN_OR_RETURN(s.unk_id, OptionalId(f, "tokenizer.ggml.unknown_token_id", n));
  if (f.Find("tokenizer.ggml.add_bos_token")) {
    SEEKD_ASSIGN_OR_RETURN(s.add_bos, f.GetBool("tokenizer.ggml.add_bos_token"));
  }
  if (f.Find("tokenizer.ggml.add_eos_token")) {
    SEEKD_ASSIGN_OR_RETURN(s.add_eos, f.GetBool("tokenizer.ggml.add_eos_token"));
  }
  // Family conventions the GGUF keys leave implicit (HF tokenizer.json spells them out).
  if (s.pre == "qwen2" || s.pre == "deepseek-r1-qwen") s.normalizer = "nfc";
  if (s.pre == "llama-bpe") s.ignore_merges = true;
  return s;
}

void AddVocabToGguf(const tok::VocabSpec& s, model::GgufWriter* w) {
  w->Set("tokenizer.ggml.model", GgufValue::String(s.model));
  w->Set("tokenizer.ggml.pre", GgufValue::String(s.pre));
  w->Set("tokenizer.ggml.tokens", GgufValue::StringArray(s.tokens));
  std::vector<GgufValue> types;
  types.reserve(s.tokens.size());
  for (size_t i = 0; i < s.tokens.size(); ++i)
    types.push_back(
        GgufValue::I32(i < s.token_types.size() ? s.token_types[i] : tok::kTokenNormal));
  w->Set("tokenizer.ggml.token_type", GgufValue::Array(GgufType::kI32, std::move(types)));
  w->Set("tokenizer.ggml.merges", GgufValue::StringArray(s.merges));
  if (s.bos_id >= 0)
    w->Set("tokenizer.ggml.bos_token_id", GgufValue::U32(static_cast<uint32_t>(s.bos_id)));
  if (s.eos_id >= 0)
    w->Set("tokenizer.ggml.eos_token_id", GgufValue::U32(static_cast<uint32_t>(s.eos_id)));
  if (s.pad_id >= 0)
    w->Set("tokenizer.ggml.padding_token_id", GgufValue::U32(static_cast<uint32_t>(s.pad_id)));
  w->Set("tokenizer.ggml.add_bos_token", GgufValue::Bool(s.add_bos));
  w->Set("tokenizer.ggml.add_eos_token", GgufValue::Bool(s.add_eos));
}

Result<tok::VocabSpec> LoadVocabSpec(const std::string& path) {
  SEEKD_ASSIGN_OR_RETURN(SourceKind kind, DetectSource(path));
  if (kind != SourceKind::kGguf) return tok::LoadHfTokenizer(path);
  SEEKD_ASSIGN_OR_RETURN(GgufFile f, GgufFile::Open(path));
  auto spec = VocabSpecFromGguf(f);
  if (!spec.ok()) return spec.status().WithContext(path);
  return spec;
}

Result<tok::Tokenizer> LoadTokenizer(const std::string& path) {
  SEEKD_ASSIGN_OR_RETURN(tok::VocabSpec spec, LoadVocabSpec(path));
  auto t = tok::Tokenizer::Create(std::move(spec));
  if (!t.ok()) return t.status().WithContext(path);
  return t;
}

Result<ChatTemplateSource> LoadChatTemplate(const std::string& path) {
  SEEKD_ASSIGN_OR_RETURN(SourceKind kind, DetectSource(path));
  ChatTemplateSource out;
  if (kind == SourceKind::kGguf) {
    SEEKD_ASSIGN_OR_RETURN(GgufFile f, GgufFile::Open(path));
    if (f.Find("tokenizer.chat_template")) {
      SEEKD_ASSIGN_OR_RETURN(out.jinja, f.GetString("tokenizer.chat_template"));
    }
    // Only two token texts are needed: read them from the array, not the whole vocabulary.
    const GgufValue* tokens = f.Find("tokenizer.ggml.tokens");
    auto text_of = [&](const char* key) -> std::string {
      auto id = OptionalId(f, key, tokens ? tokens->size() : 0);
      if (!id.ok() || *id < 0) return "";
      return std::string((*tokens)[static_cast<size_t>(*id)].AsString().value_or(""));
    };
    if (tokens && tokens->type() == GgufType::kArray &&
        tokens->element_type() == GgufType::kString) {
      out.bos_token = text_of("tokenizer.ggml.bos_token_id");
      out.eos_token = text_of("tokenizer.ggml.eos_token_id");
    }
    return out;
  }
  fs::path cfg = kind == SourceKind::kHfFolder
                     ? fs::path(path) / "tokenizer_config.json"
                     : fs::path(path).parent_path() / "tokenizer_config.json";
  if (fs::path(path).filename() == "tokenizer_config.json") cfg = path;
  std::error_code ec;
  if (!fs::exists(cfg, ec)) return out;
  SEEKD_ASSIGN_OR_RETURN(std::string text, ReadFileToString(cfg.string()));
  try {
    const auto j = nlohmann::json::parse(text);
    auto content = [&](const char* key) -> std::string {
      if (!j.contains(key)) return "";
      const auto& v = j[key];
      if (v.is_string()) return v.get<std::string>();
      if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
      return "";
    };
    if (j.contains("chat_template")) {
      const auto& ct = j["chat_template"];
      if (ct.is_string()) {
        out.jinja = ct.get<std::string>();
      } else if (ct.is_array()) {  // named templates: take "default"
        for (const auto& e : ct)
          if (e.value("name", "") == "default") out.jinja = e.value("template", "");
      }
    }
    out.bos_token = content("bos_token");
    out.eos_token = content("eos_token");
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(cfg.string() + ": " + e.what());
  }
  return out;
}

}  // namespace seekd::loader
