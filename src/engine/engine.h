// The serving engine: one loop thread per loaded model runs schedule → one batched forward over
// every scheduled token of every sequence → sample → emit, on a KV block pool allocated at
// start. Callers submit requests from any thread and receive token / finish events through a
// callback, which runs on the engine thread (keep it short: hand off to your own executor).
//
// Thread-safety: Submit, Cancel and stats are thread-safe; everything else runs on the loop.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "core/thread_pool.h"
#include "engine/json_constraint.h"
#include "engine/kv_cache.h"
#include "engine/sampler.h"
#include "engine/scheduler.h"
#include "engine/stop_strings.h"
#include "model/forward.h"
#include "model/llm.h"
#include "tokenizer/tokenizer.h"

namespace seekd::engine {

struct Request {
  std::vector<int32_t> prompt;
  int32_t max_tokens = 256;
  SamplingParams sampling;
  std::vector<int32_t> stop_tokens;  // the sequence ends after emitting one
  int32_t priority = 0;              // lower first
  uint64_t group = 0;                // siblings of one prompt (n samples) share its blocks
  // Text: when set, token events carry the text they complete (UTF-8 whole characters, special
  // tokens skipped) and stop_strings end the sequence (finish "stop"); text that could begin a
  // stop string is held back, and the stop string itself is never emitted.
  const tok::Tokenizer* detokenizer = nullptr;
  std::vector<std::string> stop_strings;
  // Log-probabilities of the model's distribution (raw logits, before bias, penalties and
  // temperature): -1 off; 0 the chosen token's only; k also the k most likely alternatives.
  int32_t logprobs = -1;
  // Constrained output (needs the detokenizer; see json_constraint.h): when non-empty, the
  // output is prefix + JSON value + suffix of one alternative. JSON mode is one alternative
  // with no prefix or suffix; a forced tool call has one per allowed function.
  struct JsonAlternative {
    std::string prefix;
    std::string schema;  // JSON Schema text; "" = any JSON object
    std::string suffix;
  };
  std::vector<JsonAlternative> json;
};

struct TokenLogprob {
  int32_t token = -1;
  float logprob = 0.0f;
};

struct Event {
  enum class Kind { kToken, kFinish };
  Kind kind = Kind::kToken;
  int32_t token = -1;    // kToken
  std::string text;      // with a detokenizer: new text (kFinish: what was held back)
  float logprob = 0.0f;  // kToken, when logprobs >= 0
  std::vector<TokenLogprob> top_logprobs;  // kToken: the `logprobs` most likely, best first
  std::string finish_reason;               // kFinish: stop | length | cancelled | error
  Status error;                            // kFinish with "error"
  int32_t prompt_tokens = 0, cached_prompt_tokens = 0, completion_tokens = 0;
  // kFinish: seconds from Submit to the first step that ran it (queue), from there to its
  // first token (prefill), Submit to the first token (ttft; -1 when none) and to the finish.
  double queue_s = 0, prefill_s = 0, ttft_s = -1, total_s = 0;
};

struct EngineOptions {
  uint64_t kv_cache_bytes = 256ull << 20;  // the pool; blocks = bytes / block bytes
  int32_t block_size = 4;                  // positions per KV block (the unit of sharing, 1–256)
  bool kv_int8 = false;  // K/V in 8 bits with a scale per head (docs/BENCHMARKS.md: accuracy)
  SchedulerConfig scheduler;
  int threads = 0;  // compute threads (0: physical cores)
  // Called on the loop thread after each step that computed something: tokens and sequences
  // in the step (for metrics; keep it short).
  std::function<void(int32_t tokens, int32_t seqs)> on_step;
};

// Whether options can run: the scheduler's window fits the context, and the window is not
// combined with 8-bit KV (rotating 8-bit keys in place would requantize them at every slide).
Status CheckEngineOptions(const EngineOptions& options);

struct EngineStats {
  int32_t running = 0, waiting = 0;
  int32_t kv_blocks_total = 0, kv_blocks_used = 0, kv_blocks_cached = 0;
  int32_t kv_block_size = 0;  // positions per block
  // Slots (token positions) running sequences hold, and how many of them are not filled yet.
  int64_t kv_slots_held = 0, kv_slots_unfilled = 0;
  int64_t preemptions = 0, steps = 0, tokens_computed = 0;
  int64_t prompt_tokens = 0, cached_prompt_tokens = 0, generated_tokens = 0;
};

class Engine {
 public:
  Engine(const model::Llm& llm, const EngineOptions& options);
  ~Engine();  // cancels what is left and joins the loop
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a request. Errors come back here, synchronously: InvalidArgument (bad sampling or
  // empty prompt), OutOfRange (context or KV capacity), Unavailable (queue full). On success
  // every later event, ending with exactly one kFinish, goes to on_event.
  Result<uint64_t> Submit(Request request, std::function<void(const Event&)> on_event);
  // The request finishes with "cancelled" at the next step; its blocks are freed then.
  void Cancel(uint64_t id);
  EngineStats stats() const;
  const model::Llm& llm() const { return llm_; }

 private:
  struct Live {
    Request req;
    std::function<void(const Event&)> on_event;
    std::unique_ptr<Sampler> sampler;
    int32_t generated = 0;
    int32_t cached = -1;  // prompt tokens found in the prefix cache, known at admission
    std::unique_ptr<tok::StreamDecoder> decoder;  // with a detokenizer
    std::unique_ptr<StopMatcher> stops;
    std::unique_ptr<JsonConstraint> json;
    std::chrono::steady_clock::time_point submitted, scheduled, first_token;
    bool was_scheduled = false, has_token = false;
  };
  void Loop();
  bool Step();  // false when the step had nothing to compute
  void FinishEvent(uint64_t id, const std::string& reason, Status error = Status::Ok());

  const model::Llm& llm_;
  EngineOptions opt_;
  ThreadPool pool_;
  model::Forward fwd_;
  KvArena arena_;
  BlockPool blocks_;
  Scheduler sched_;                // loop thread only, except under mu_ for Submit's checks
  std::map<uint64_t, Live> live_;  // loop thread only

  mutable std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::pair<uint64_t, Live>> incoming_;
  std::vector<uint64_t> cancels_;
  bool stop_ = false;
  uint64_t next_id_ = 1;
  int32_t queued_ = 0;  // incoming + waiting, for admission control
  EngineStats stats_;   // published under mu_
  std::vector<float> logits_;
  std::vector<float> raw_;
  std::map<const tok::Tokenizer*, std::shared_ptr<const JsonVocab>>
      json_vocabs_;  // under mu_  // one row of unmodified logits, for logprobs
  std::thread loop_;
};

}  // namespace seekd::engine
