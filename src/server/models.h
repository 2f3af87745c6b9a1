// The models a server holds: each with its weights, tokenizer, chat template and its own engine
// (one loop thread per model). Requests hold a shared_ptr to their model, so unloading a model
// lets its running requests finish before the engine goes away.
//
// Thread-safety: every ModelRegistry method is thread-safe; a ModelEntry is immutable once
// loaded (its engine is thread-safe).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "chat/chat_template.h"
#include "core/status.h"
#include "engine/engine.h"
#include "model/llm.h"
#include "tokenizer/tokenizer.h"

namespace seekd::server {

struct ModelOptions {
  std::string quant;            // "" keeps the file's types
  int threads = 0;              // compute threads (0: physical cores)
  int64_t ctx = 0;              // context per request (0: the model's, capped at 32768)
  uint64_t kv_cache_bytes = 0;  // 0: DefaultKvCacheBytes
  int32_t max_batch_tokens = 512, max_seqs = 16, max_queue = 256;
  bool kv_int8 = false;        // --kv-cache-dtype int8
  int32_t kv_window = 0;       // --kv-window: streaming window past the context (0: off)
  int32_t kv_sinks = 4;        // --kv-sinks: first tokens a windowed sequence always keeps
  int32_t kv_block = 4;        // --kv-block-size: positions per KV block
  std::string pack_cache_dir;  // --pack-cache, resolved (model/pack_cache.h); "": none
};

// FIM (fill-in-the-middle) tokens, when the vocabulary has them.
struct FimTokens {
  int32_t prefix = -1, suffix = -1, middle = -1;
  bool psm_deepseek = false;  // <｜fim▁begin｜>P<｜fim▁hole｜>S<｜fim▁end｜>
  bool ok() const { return prefix >= 0 && suffix >= 0 && middle >= 0; }
};

struct ModelEntry {
  std::string name, path;
  int64_t created = 0;  // unix seconds, when loaded
  std::unique_ptr<model::Llm> llm;
  std::optional<tok::Tokenizer> tok;
  std::optional<chat::TemplateId> tmpl;  // nullopt: the model has no supported chat template
  std::string bos, eos;
  std::vector<int32_t> stop_tokens;
  FimTokens fim;
  int64_t ctx = 0;
  bool windowed = false;  // requests may run past ctx (a KV window keeps sinks + recent tokens)
  uint64_t kv_cache_bytes = 0;
  std::string kv_cache_why;                // how the size was chosen, for the start-up line
  std::unique_ptr<engine::Engine> engine;  // last: destroyed first
};

class ModelRegistry {
 public:
  Status Load(const std::string& name, const std::string& path, const ModelOptions& options);
  // NotFound when absent. Requests already running keep the model until they finish.
  Status Unload(const std::string& name);
  // The named model, or nullptr.
  std::shared_ptr<ModelEntry> Get(const std::string& name) const;
  std::vector<std::shared_ptr<ModelEntry>> List() const;
  bool empty() const;
  // Called on a model's engine thread after each step (set before loading models).
  void SetStepObserver(
      std::function<void(const std::string& model, int32_t tokens, int32_t seqs)> f) {
    step_observer_ = std::move(f);
  }

 private:
  std::function<void(const std::string&, int32_t, int32_t)> step_observer_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<ModelEntry>> models_;
};

// The KV pool when --kv-cache-mem is not given: every sequence (max_seqs) at full context, or
// half of the memory free once the weights are resident, whichever is smaller — but at least
// one full context. *why explains the figure.
uint64_t DefaultKvCacheBytes(const model::Llm& llm, int64_t ctx, int32_t max_seqs, bool int8,
                             std::string* why);

// A model name from a path: the file name without .gguf, or the folder's name.
std::string DefaultModelName(const std::string& path);

}  // namespace seekd::server
