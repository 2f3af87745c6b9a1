#include "server/models.h"

#include <chrono>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "engine/generator.h"
#include "loader/loader.h"

namespace seekd::server {

namespace {
// MemAvailable from /proc/meminfo, bytes (0 when unknown).
uint64_t MemAvailable() {
  std::ifstream f("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (f >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return 0;
}
}  // namespace

uint64_t DefaultKvCacheBytes(const model::Llm& llm, int64_t ctx, int32_t max_seqs, bool int8,
                             std::string* why) {
  const uint64_t per_token = engine::KvArena::BlockBytes(llm.config(), 16, int8) / 16;
  const uint64_t one = per_token * static_cast<uint64_t>(ctx);
  const uint64_t all = one * static_cast<uint64_t>(std::max(1, max_seqs));
  // Half of what the machine has free once the weights are resident (they are memory-mapped,
  // so the page cache that holds them still counts as available).
  const uint64_t avail = MemAvailable();
  const uint64_t weights = llm.StreamedBytesPerToken();
  const uint64_t share = avail > weights ? (avail - weights) / 2 : 0;
  uint64_t bytes = std::min(all, share);
  if (bytes < one) bytes = one;  // at least one full-context request
  if (why)
    *why = fmt::format(
        "{} MiB = min(every sequence at full context {} MiB, half of free memory "
        "{} MiB), at least one full context {} MiB",
        bytes >> 20, all >> 20, share >> 20, one >> 20);
  return bytes;
}

Status ModelRegistry::Load(const std::string& name, const std::string& path,
                           const ModelOptions& o) {
  if (name.empty()) return InvalidArgument("a model needs a name");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (models_.count(name)) return InvalidArgument("a model named " + name + " is loaded");
  }
  auto e = std::make_shared<ModelEntry>();
  e->name = name;
  e->path = path;
  e->created = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  model::LoadOptions lo;
  lo.pack_cache_dir = o.pack_cache_dir;
  if (!o.quant.empty()) {
    const auto q = DTypeFromName(o.quant);
    if (!q) return InvalidArgument("unknown quant type " + o.quant);
    lo.quant = *q;
  }
  SEEKD_ASSIGN_OR_RETURN(e->llm, model::LoadLlm(path, lo));
  SEEKD_ASSIGN_OR_RETURN(tok::Tokenizer t, loader::LoadTokenizer(path));
  e->tok.emplace(std::move(t));
  auto src = loader::LoadChatTemplate(path);
  if (src.ok()) {
    e->tmpl = chat::RecognizeTemplate(src->jinja);
    if (e->tmpl) {
      e->bos =
          src->bos_token.empty() ? std::string(chat::DefaultBosToken(*e->tmpl)) : src->bos_token;
      e->eos =
          src->eos_token.empty() ? std::string(chat::DefaultEosToken(*e->tmpl)) : src->eos_token;
    }
  }
  e->stop_tokens = engine::DefaultStopTokens(*e->tok);
  const tok::Tokenizer& tk = *e->tok;
  if (tk.FindToken("<｜fim▁begin｜>") >= 0) {
    e->fim = {tk.FindToken("<｜fim▁begin｜>"), tk.FindToken("<｜fim▁hole｜>"),
              tk.FindToken("<｜fim▁end｜>"), true};
  } else {
    e->fim = {tk.FindToken("<|fim_prefix|>"), tk.FindToken("<|fim_suffix|>"),
              tk.FindToken("<|fim_middle|>"), false};
  }
  const int64_t train = e->llm->config().n_ctx_train > 0 ? e->llm->config().n_ctx_train : 4096;
  e->ctx = o.ctx > 0 ? o.ctx : std::min<int64_t>(train, 32768);
  engine::EngineOptions eo;
  eo.threads = o.threads;
  eo.kv_int8 = o.kv_int8;
  eo.block_size = o.kv_block;
  std::string why = fmt::format("{} MiB (--kv-cache-mem)", o.kv_cache_bytes >> 20);
  eo.kv_cache_bytes = o.kv_cache_bytes > 0
                          ? o.kv_cache_bytes
                          : DefaultKvCacheBytes(*e->llm, e->ctx, o.max_seqs, o.kv_int8, &why);
  e->kv_cache_bytes = eo.kv_cache_bytes;
  e->kv_cache_why = why;
  eo.scheduler.max_batch_tokens = o.max_batch_tokens;
  eo.scheduler.max_seqs = o.max_seqs;
  eo.scheduler.max_queue = o.max_queue;
  eo.scheduler.max_model_len = e->ctx;
  eo.scheduler.window = o.kv_window;
  eo.scheduler.sinks = o.kv_sinks;
  SEEKD_RETURN_IF_ERROR(engine::CheckEngineOptions(eo));
  e->windowed = o.kv_window > 0;
  if (step_observer_)
    eo.on_step = [f = step_observer_, name](int32_t tokens, int32_t seqs) {
      f(name, tokens, seqs);
    };
  e->engine = std::make_unique<engine::Engine>(*e->llm, eo);
  std::lock_guard<std::mutex> lock(mu_);
  if (models_.count(name)) return InvalidArgument("a model named " + name + " is loaded");
  models_[name] = std::move(e);
  return Status::Ok();
}

Status ModelRegistry::Unload(const std::string& name) {
  std::shared_ptr<ModelEntry> gone;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  if (it == models_.end()) return NotFound("no model named " + name);
  gone = std::move(it->second);
  models_.erase(it);
  return Status::Ok();
}

std::shared_ptr<ModelEntry> ModelRegistry::Get(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = models_.find(name);
  return it == models_.end() ? nullptr : it->second;
}

std::vector<std::shared_ptr<ModelEntry>> ModelRegistry::List() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<ModelEntry>> v;
  for (const auto& [n, e] : models_) v.push_back(e);
  return v;
}

bool ModelRegistry::empty() const {
  std::lock_guard<std::mutex> lock(mu_);
  return models_.empty();
}

std::string DefaultModelName(const std::string& path) {
  std::filesystem::path p(path);
  while (!p.empty() && p.filename().empty()) p = p.parent_path();
  std::string n = p.filename().string();
  if (n.size() > 5 && n.substr(n.size() - 5) == ".gguf") n.resize(n.size() - 5);
  return n.empty() ? "default" : n;
}

}  // namespace seekd::server
