#include "engine/engine.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <span>

namespace seekd::engine {

namespace {
float LogSumExp(std::span<const float> x) {
  float m = -std::numeric_limits<float>::infinity();
  for (float v : x) m = std::max(m, v);
  double s = 0;
  for (float v : x) s += std::exp(static_cast<double>(v - m));
  return m + static_cast<float>(std::log(s));
}

// The k largest logits as log-probabilities, best first (ties: lower id first).
void TopLogprobs(std::span<const float> x, float lse, int32_t k, std::vector<TokenLogprob>* out) {
  out->clear();
  if (k <= 0) return;
  std::vector<std::pair<float, int32_t>> best;  // a small sorted list: k ≤ 20
  for (size_t i = 0; i < x.size(); ++i) {
    if (best.size() == static_cast<size_t>(k) && x[i] <= best.back().first) continue;
    auto at = std::upper_bound(best.begin(), best.end(), x[i],
                               [](float v, const auto& b) { return v > b.first; });
    best.insert(at, {x[i], static_cast<int32_t>(i)});
    if (best.size() > static_cast<size_t>(k)) best.pop_back();
  }
  for (const auto& [v, id] : best) out->push_back({id, v - lse});
}

int32_t BlocksFor(const model::Llm& llm, const EngineOptions& o) {
  const uint64_t per = KvArena::BlockBytes(llm.config(), o.block_size, o.kv_int8);
  return static_cast<int32_t>(std::max<uint64_t>(1, o.kv_cache_bytes / per));
}
}  // namespace

Status CheckEngineOptions(const EngineOptions& options) {
  if (options.block_size < 1 || options.block_size > 256)
    return InvalidArgument("the KV block size (--kv-block-size) must be 1 to 256 tokens, not " +
                           std::to_string(options.block_size));
  SEEKD_RETURN_IF_ERROR(CheckSchedulerConfig(options.scheduler, options.block_size));
  if (options.scheduler.window > 0 && options.kv_int8)
    return InvalidArgument("a KV window needs the f32 KV cache (--kv-cache-dtype f32)");
  return Status::Ok();
}

Engine::Engine(const model::Llm& llm, const EngineOptions& options)
    : llm_(llm),
      opt_(options),
      pool_(options.threads > 0 ? options.threads : PhysicalCoreCount()),
      fwd_(llm, pool_),
      arena_(llm.config(), BlocksFor(llm, options), options.block_size, options.kv_int8),
      blocks_(arena_.n_blocks(), options.block_size),
      sched_(options.scheduler, &blocks_, &arena_) {
  SEEKD_CHECK(CheckEngineOptions(options).ok());
  stats_.kv_blocks_total = blocks_.n_blocks();
  stats_.kv_block_size = options.block_size;
  loop_ = std::thread([this] { Loop(); });
}

Engine::~Engine() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  loop_.join();
}

Result<uint64_t> Engine::Submit(Request r, std::function<void(const Event&)> on_event) {
  if (r.prompt.empty()) return InvalidArgument("the prompt is empty");
  if (r.max_tokens < 1) return InvalidArgument("max_tokens must be at least 1");
  for (int32_t t : r.prompt)
    if (t < 0 || t >= llm_.config().n_vocab)
      return InvalidArgument("token id " + std::to_string(t) + " is outside the vocabulary");
  SEEKD_RETURN_IF_ERROR(ValidateSampling(r.sampling, llm_.config().n_vocab));
  if (r.logprobs > 20) return InvalidArgument("logprobs must be at most 20");
  if (!r.stop_strings.empty() && r.detokenizer == nullptr)
    return InvalidArgument("stop strings need a detokenizer");
  SEEKD_RETURN_IF_ERROR(CheckFits(opt_.scheduler, static_cast<int64_t>(r.prompt.size()),
                                  r.max_tokens, opt_.block_size, blocks_.n_blocks()));
  std::unique_ptr<JsonConstraint> json;
  if (!r.json.empty()) {
    if (r.detokenizer == nullptr) return InvalidArgument("JSON mode needs a detokenizer");
    std::shared_ptr<const JsonVocab> vocab;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto& v = json_vocabs_[r.detokenizer];
      if (!v) v = std::make_shared<JsonVocab>(*r.detokenizer);
      vocab = v;
    }
    std::vector<nlohmann::json> schemas(r.json.size());
    std::vector<JsonConstraint::Alternative> alts;
    for (size_t i = 0; i < r.json.size(); ++i) {
      const Request::JsonAlternative& a = r.json[i];
      if (!a.schema.empty()) {
        schemas[i] = nlohmann::json::parse(a.schema, nullptr, /*allow_exceptions=*/false);
        if (schemas[i].is_discarded()) return InvalidArgument("json_schema is not valid JSON");
      }
      alts.push_back({a.prefix, a.schema.empty() ? nullptr : &schemas[i], a.suffix});
    }
    SEEKD_ASSIGN_OR_RETURN(json, JsonConstraint::Create(std::move(vocab), alts, r.stop_tokens));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_) return Unavailable("the engine is shutting down");
  if (queued_ >= opt_.scheduler.max_queue)
    return Unavailable("overloaded: " + std::to_string(queued_) + " requests are already waiting");
  const uint64_t id = next_id_++;
  Live l;
  l.req = std::move(r);
  l.on_event = std::move(on_event);
  l.json = std::move(json);
  l.submitted = std::chrono::steady_clock::now();
  incoming_.emplace_back(id, std::move(l));
  ++queued_;
  wake_.notify_all();
  return id;
}

void Engine::Cancel(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  cancels_.push_back(id);
  wake_.notify_all();
}

EngineStats Engine::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void Engine::FinishEvent(uint64_t id, const std::string& reason, Status error) {
  auto it = live_.find(id);
  if (it == live_.end()) return;
  Event e;
  e.kind = Event::Kind::kFinish;
  e.finish_reason = reason;
  e.error = std::move(error);
  e.prompt_tokens = static_cast<int32_t>(it->second.req.prompt.size());
  e.cached_prompt_tokens = std::max(0, it->second.cached);
  e.completion_tokens = it->second.generated;
  Live& l = it->second;
  {
    using D = std::chrono::duration<double>;
    const auto now = std::chrono::steady_clock::now();
    e.total_s = D(now - l.submitted).count();
    e.queue_s = D((l.was_scheduled ? l.scheduled : now) - l.submitted).count();
    if (l.has_token) {
      e.ttft_s = D(l.first_token - l.submitted).count();
      e.prefill_s = D(l.first_token - l.scheduled).count();
    }
  }
  if (l.decoder && reason != "error") {
    // What the decoder and the stop matcher still hold (nothing once a stop string matched).
    std::string tail = l.decoder->Flush();
    bool stopped = false;
    if (l.stops) {
      e.text = l.stops->Push(tail, &stopped);
      if (!stopped) e.text += l.stops->Flush();
    } else {
      e.text = std::move(tail);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    stats_.prompt_tokens += e.prompt_tokens;
    stats_.cached_prompt_tokens += e.cached_prompt_tokens;
  }
  it->second.on_event(e);
  live_.erase(it);
}

void Engine::Loop() {
  for (;;) {
    std::deque<std::pair<uint64_t, Live>> incoming;
    std::vector<uint64_t> cancels;
    bool stop;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(
          lock, [&] { return stop_ || !incoming_.empty() || !cancels_.empty() || !live_.empty(); });
      incoming.swap(incoming_);
      cancels.swap(cancels_);
      stop = stop_;
    }
    for (auto& [id, l] : incoming) {
      SeqSpec spec{id, l.req.prompt, l.req.max_tokens, l.req.priority, l.req.group};
      l.sampler = std::make_unique<Sampler>(l.req.sampling, l.req.prompt);
      if (l.req.detokenizer != nullptr) {
        l.decoder = std::make_unique<tok::StreamDecoder>(*l.req.detokenizer, /*skip_special=*/true);
        if (!l.req.stop_strings.empty())
          l.stops = std::make_unique<StopMatcher>(l.req.stop_strings);
      }
      Status st = sched_.Submit(std::move(spec));
      live_.emplace(id, std::move(l));
      if (!st.ok()) FinishEvent(id, "error", st);
    }
    for (uint64_t id : cancels) sched_.Cancel(id);
    if (stop) {
      for (auto& [id, l] : live_) sched_.Cancel(id);
      const Scheduler::Plan plan = sched_.Schedule();  // frees every block
      std::vector<uint64_t> ids;
      for (const auto& [id, l] : live_) ids.push_back(id);
      for (uint64_t id : ids) FinishEvent(id, "cancelled");
      return;
    }
    if (!Step()) {
      // Nothing schedulable right now (should not happen while sequences are live, but never
      // spin): wait for new work or a short while.
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait_for(lock, std::chrono::milliseconds(1),
                     [&] { return stop_ || !incoming_.empty() || !cancels_.empty(); });
    }
  }
}

bool Engine::Step() {
  const Scheduler::Plan plan = sched_.Schedule();
  std::vector<model::BatchToken> batch;
  std::vector<model::KvStore*> seqs;
  for (const auto& item : plan.items) {
    Live& l = live_.at(item.id);
    if (l.cached < 0) l.cached = sched_.cached_prompt_tokens(item.id);
    if (!l.was_scheduled) {
      l.was_scheduled = true;
      l.scheduled = std::chrono::steady_clock::now();
    }
    const auto& toks = sched_.tokens(item.id);
    const auto seq = static_cast<int32_t>(seqs.size());
    seqs.push_back(sched_.kv(item.id));
    for (int64_t p = item.start; p < item.start + item.n; ++p)
      batch.push_back({toks[static_cast<size_t>(p)], item.pos + (p - item.start), seq,
                       item.sample && p == item.start + item.n - 1});
  }
  // Under a window, kept keys move down to the positions of the dropped blocks.
  for (const auto& [from, to] : plan.copies) arena_.CopyBlock(to, from);
  for (const auto& sh : plan.shifts) fwd_.ShiftKeys(sched_.kv(sh.id), sh.from, sh.count, sh.delta);
  std::vector<std::pair<uint64_t, int32_t>> sampled;
  std::vector<uint64_t> stopped;
  if (!batch.empty()) {
    if (Status st = fwd_.Run(batch, seqs, &logits_); !st.ok()) {
      for (const auto& item : plan.items) {
        sched_.Cancel(item.id);
        FinishEvent(item.id, "error", st);
      }
    } else {
      const int64_t V = llm_.config().n_vocab;
      int64_t row = 0;
      for (const auto& item : plan.items) {
        if (!item.sample) continue;
        Live& l = live_.at(item.id);
        const std::span<float> row_logits{logits_.data() + row * V, static_cast<size_t>(V)};
        ++row;
        Event e;
        float lse = 0.0f;
        if (l.req.logprobs >= 0) {
          lse = LogSumExp(row_logits);
          TopLogprobs(row_logits, lse, l.req.logprobs, &e.top_logprobs);
          raw_ = std::vector<float>(row_logits.begin(), row_logits.end());
        }
        if (l.json) l.json->Mask(row_logits);
        const int32_t tok = l.sampler->Sample(row_logits);
        if (l.json) l.json->Accept(tok);
        if (l.req.logprobs >= 0) e.logprob = raw_[static_cast<size_t>(tok)] - lse;
        l.sampler->Accept(tok);
        ++l.generated;
        if (!l.has_token) {
          l.has_token = true;
          l.first_token = std::chrono::steady_clock::now();
        }
        sampled.emplace_back(item.id, tok);
        e.token = tok;
        bool stop = std::find(l.req.stop_tokens.begin(), l.req.stop_tokens.end(), tok) !=
                    l.req.stop_tokens.end();
        if (l.decoder) {
          std::string piece = l.decoder->Push(tok);
          if (l.stops) {
            bool hit = false;
            e.text = l.stops->Push(piece, &hit);
            stop = stop || hit;
          } else {
            e.text = std::move(piece);
          }
        }
        l.on_event(e);
        if (stop) stopped.push_back(item.id);
      }
    }
  }
  const std::vector<uint64_t> done = sched_.Update(sampled, stopped);
  {
    // Published before the finish events, so a caller that sees its request finish also sees
    // counters that include it.
    std::lock_guard<std::mutex> lock(mu_);
    stats_.running = sched_.n_running();
    stats_.waiting = sched_.n_waiting();
    queued_ = stats_.waiting + static_cast<int32_t>(incoming_.size());
    stats_.kv_blocks_used = blocks_.n_in_use();
    sched_.KvSlots(&stats_.kv_slots_held, &stats_.kv_slots_unfilled);
    stats_.kv_blocks_cached = blocks_.n_cached_idle();
    stats_.preemptions = sched_.n_preemptions();
    ++stats_.steps;
    stats_.tokens_computed += plan.n_tokens;
    stats_.generated_tokens += static_cast<int64_t>(sampled.size());
  }
  if (opt_.on_step && plan.n_tokens > 0)
    opt_.on_step(static_cast<int32_t>(plan.n_tokens), static_cast<int32_t>(plan.items.size()));
  for (uint64_t id : plan.cancelled) FinishEvent(id, "cancelled");
  for (uint64_t id : done)
    FinishEvent(id,
                std::find(stopped.begin(), stopped.end(), id) != stopped.end() ? "stop" : "length");
  return !plan.items.empty() || !plan.cancelled.empty();
}

}  // namespace seekd::engine
