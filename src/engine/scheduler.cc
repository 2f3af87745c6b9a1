#include "engine/scheduler.h"

#include <algorithm>
#include <set>

namespace seekd::engine {

namespace {
int64_t RoundUp(int64_t v, int64_t m) { return (v + m - 1) / m * m; }
}  // namespace

Status CheckSchedulerConfig(const SchedulerConfig& c, int32_t block_size) {
  if (c.window < 0 || c.sinks < 0) return InvalidArgument("the KV window and sinks must be ≥ 0");
  if (c.window == 0) return Status::Ok();
  const int64_t need = RoundUp(c.sinks, block_size) + RoundUp(c.window, block_size) + block_size;
  if (need > c.max_model_len)
    return InvalidArgument("a KV window of " + std::to_string(c.window) + " with " +
                           std::to_string(c.sinks) + " sinks needs " + std::to_string(need) +
                           " positions (whole blocks of " + std::to_string(block_size) +
                           ", plus one); the context length is " + std::to_string(c.max_model_len));
  return Status::Ok();
}

Status CheckFits(const SchedulerConfig& c, int64_t prompt_len, int32_t max_tokens,
                 int32_t block_size, int32_t n_blocks) {
  int64_t positions = prompt_len + max_tokens;
  if (c.window > 0) {
    // A windowed sequence holds at most sinks + window + one block of positions.
    positions = std::min(positions,
                         RoundUp(c.sinks, block_size) + RoundUp(c.window, block_size) + block_size);
  } else if (positions > c.max_model_len) {
    return OutOfRange("the prompt has " + std::to_string(prompt_len) + " tokens and asks for " +
                      std::to_string(max_tokens) + " more; the context length is " +
                      std::to_string(c.max_model_len));
  }
  if ((positions + block_size - 1) / block_size > n_blocks)
    return OutOfRange("the prompt and max_tokens need more KV cache than the server has (" +
                      std::to_string(static_cast<int64_t>(n_blocks) * block_size) + " tokens)");
  return Status::Ok();
}

Scheduler::Scheduler(SchedulerConfig config, BlockPool* pool, KvArena* arena)
    : config_(config), pool_(pool), arena_(arena) {
  SEEKD_CHECK(CheckSchedulerConfig(config_, pool->block_size()).ok());
  if (config_.window > 0) {
    sink_tokens_ = RoundUp(config_.sinks, pool->block_size());
    window_tokens_ = RoundUp(config_.window, pool->block_size());
  }
}

int64_t Scheduler::CacheLen(const Seq& s) const {
  return s.computed <= sink_tokens_ ? s.computed : s.computed - s.shift;
}

bool Scheduler::Before(const Seq& a, const Seq& b) const {
  if (a.spec.priority != b.spec.priority) return a.spec.priority < b.spec.priority;
  return a.arrival < b.arrival;
}

Status Scheduler::Submit(SeqSpec spec) {
  if (spec.prompt.empty()) return InvalidArgument("the prompt is empty");
  if (spec.max_tokens < 1) return InvalidArgument("max_tokens must be at least 1");
  SEEKD_RETURN_IF_ERROR(CheckFits(config_, static_cast<int64_t>(spec.prompt.size()),
                                  spec.max_tokens, pool_->block_size(), pool_->n_blocks()));
  if (static_cast<int32_t>(waiting_.size()) >= config_.max_queue)
    return Unavailable("overloaded: " + std::to_string(waiting_.size()) +
                       " requests are already waiting");
  if (seqs_.count(spec.id)) return InvalidArgument("duplicate sequence id");
  Seq s;
  s.arrival = next_arrival_++;
  s.tokens = spec.prompt;
  s.spec = std::move(spec);
  s.kv = std::make_unique<PagedSeq>(arena_, pool_->block_size());
  const uint64_t id = s.spec.id;
  seqs_.emplace(id, std::move(s));
  // Keep the queue ordered by (priority, arrival): insert after every sequence that goes first.
  auto pos = std::find_if(waiting_.begin(), waiting_.end(),
                          [&](uint64_t w) { return Before(seqs_.at(id), seqs_.at(w)); });
  waiting_.insert(pos, id);
  return Status::Ok();
}

void Scheduler::Cancel(uint64_t id) {
  auto it = seqs_.find(id);
  if (it != seqs_.end()) it->second.cancelled = true;
}

void Scheduler::ReleaseAll(Seq& s) {
  for (int32_t b : s.kv->blocks()) pool_->Release(b);
  s.kv->blocks().clear();
  s.hashes.clear();
  s.computed = 0;
}

bool Scheduler::EnsureBlocks(Seq& s, int64_t n_positions) {
  const int64_t bs = pool_->block_size();
  const auto need = static_cast<size_t>((n_positions + bs - 1) / bs);
  auto& blocks = s.kv->blocks();
  while (blocks.size() < need) {
    const std::optional<int32_t> b = pool_->Allocate();
    if (!b) return false;
    blocks.push_back(*b);
  }
  return true;
}

// Publishes every block that is full and computed (its tokens are final).
void Scheduler::PublishFull(Seq& s) {
  const int64_t bs = pool_->block_size();
  while (static_cast<int64_t>(s.hashes.size() + 1) * bs <= s.computed) {
    const size_t i = s.hashes.size();
    // Past a dropped gap only the sinks hold what their hash says (the rest moves).
    if (s.shift > 0 && static_cast<int64_t>(i) * bs >= sink_tokens_) return;
    const std::span<const int32_t> toks(s.tokens.data() + i * bs, static_cast<size_t>(bs));
    const uint64_t h = ChainHash(i == 0 ? 0 : s.hashes.back(), toks);
    pool_->Publish(s.kv->blocks()[i], h, toks);
    s.hashes.push_back(h);
  }
}

// Shares cached blocks for the longest run of full prompt blocks; at least one token is left
// to compute (its logits give the next token). Returns the tokens matched.
int32_t Scheduler::MatchPrefix(Seq& s) {
  const int64_t bs = pool_->block_size();
  int64_t max_blocks = (static_cast<int64_t>(s.tokens.size()) - 1) / bs;
  if (s.shift > 0) max_blocks = std::min(max_blocks, sink_tokens_ / bs);
  uint64_t h = 0;
  for (int64_t i = 0; i < max_blocks; ++i) {
    const std::span<const int32_t> toks(s.tokens.data() + i * bs, static_cast<size_t>(bs));
    h = ChainHash(h, toks);
    const std::optional<int32_t> b = pool_->Lookup(h, toks);
    if (!b) break;
    s.kv->blocks().push_back(*b);
    s.hashes.push_back(h);
  }
  s.computed = static_cast<int64_t>(s.hashes.size()) * bs;
  return static_cast<int32_t>(s.computed);
}

bool Scheduler::Slide(Seq& s, int32_t* n, Plan* plan) {
  if (window_tokens_ == 0) return true;
  if (s.shift > 0 && s.computed == sink_tokens_) {  // a recompute skips the dropped gap
    s.computed += s.shift;
    *n = static_cast<int32_t>(
        std::min<int64_t>(*n, static_cast<int64_t>(s.tokens.size()) - s.computed));
  }
  if (s.shift > 0 && s.computed < sink_tokens_) {
    *n = static_cast<int32_t>(std::min<int64_t>(*n, sink_tokens_ - s.computed));
    return true;
  }
  *n = static_cast<int32_t>(std::min<int64_t>(*n, window_tokens_));
  const int64_t bs = pool_->block_size(), cap = sink_tokens_ + window_tokens_ + bs;
  const int64_t len = CacheLen(s);
  if (len + *n <= cap) return true;
  // Whole blocks right after the sinks go; at least window_tokens_ stay before the new ones.
  const int64_t drop = RoundUp(len + *n - cap, bs);
  const auto first = static_cast<size_t>(sink_tokens_ / bs), k = static_cast<size_t>(drop / bs);
  auto& blocks = s.kv->blocks();
  SEEKD_CHECK(first + k < blocks.size() || (first + k == blocks.size() && len % bs == 0));
  // The blocks that stay are rotated in place, so they must be this sequence's alone: shared
  // ones are copied first (all or nothing), published ones forgotten.
  std::vector<std::pair<size_t, int32_t>> copies;
  for (size_t i = first + k; i < blocks.size(); ++i) {
    if (pool_->refs(blocks[i]) <= 1) continue;
    const std::optional<int32_t> b = pool_->Allocate();
    if (!b) {
      for (const auto& c : copies) pool_->Release(c.second);
      return false;
    }
    copies.emplace_back(i, *b);
  }
  for (const auto& [i, b] : copies) {
    // The source keeps this reference until the next Schedule, so it is intact (not reused by
    // anything this step) when the runner copies it.
    plan->copies.emplace_back(blocks[i], b);
    copied_from_.push_back(blocks[i]);
    blocks[i] = b;
  }
  for (size_t i = first + k; i < blocks.size(); ++i)
    if (pool_->published(blocks[i])) pool_->Unpublish(blocks[i]);
  for (size_t j = 0; j < k; ++j) pool_->Release(blocks[first + j]);
  blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(first),
               blocks.begin() + static_cast<std::ptrdiff_t>(first + k));
  s.hashes.resize(std::min(s.hashes.size(), first));
  s.shift += drop;
  if (len - drop > sink_tokens_)
    plan->shifts.push_back({s.spec.id, sink_tokens_, len - drop - sink_tokens_, drop});
  return true;
}

void Scheduler::Preempt(uint64_t id, Plan* plan) {
  Seq& s = seqs_.at(id);
  ReleaseAll(s);
  // A long windowed sequence is recomputed as its sinks plus its last window of tokens.
  const auto len = static_cast<int64_t>(s.tokens.size());
  const int64_t bs = pool_->block_size();
  s.shift = window_tokens_ > 0 && len > sink_tokens_ + window_tokens_ + bs
                ? (len - sink_tokens_ - window_tokens_) / bs * bs
                : 0;
  running_.erase(std::find(running_.begin(), running_.end(), id));
  waiting_.push_front(id);
  plan->preempted.push_back(id);
  ++n_preemptions_;
}

Scheduler::Plan Scheduler::Schedule() {
  Plan plan;
  for (int32_t b : copied_from_) pool_->Release(b);  // the last plan's copies are done
  copied_from_.clear();
  // 1. Cancellations.
  for (auto it = seqs_.begin(); it != seqs_.end();) {
    if (!it->second.cancelled) {
      ++it;
      continue;
    }
    ReleaseAll(it->second);
    const uint64_t id = it->first;
    std::erase(running_, id);
    std::erase(waiting_, id);
    plan.cancelled.push_back(id);
    it = seqs_.erase(it);
  }
  int32_t budget = config_.max_batch_tokens;

  // Groups with a member computing its prompt (this step or still to come): their waiting
  // siblings hold back so that they share its blocks.
  std::set<uint64_t> busy_groups;
  auto note_group = [&](const Seq& s, int64_t start) {
    if (s.spec.group != 0 && start < static_cast<int64_t>(s.spec.prompt.size()))
      busy_groups.insert(s.spec.group);
  };

  // 2. Running sequences, most important first; preempt from the least important end.
  std::sort(running_.begin(), running_.end(),
            [&](uint64_t a, uint64_t b) { return Before(seqs_.at(a), seqs_.at(b)); });
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Seq& s = seqs_.at(running_[i]);
    const int64_t left = static_cast<int64_t>(s.tokens.size()) - s.computed;
    auto n = static_cast<int32_t>(std::min<int64_t>(left, budget));
    if (n <= 0) {
      ++i;
      continue;
    }
    note_group(s, s.computed);
    if (!Slide(s, &n, &plan) || !EnsureBlocks(s, CacheLen(s) + n)) {
      const uint64_t victim = running_.back();
      Preempt(victim, &plan);
      if (victim == s.spec.id) break;  // it was the least important itself
      continue;                        // retry this one with the freed blocks
    }
    plan.items.push_back({s.spec.id, s.computed, n,
                          s.computed + n == static_cast<int64_t>(s.tokens.size()),
                          PosOf(s, s.computed)});
    s.computed += n;
    budget -= n;
    ++i;
  }

  // 3. Admissions.
  for (uint64_t id : running_) note_group(seqs_.at(id), seqs_.at(id).computed);
  for (size_t w = 0; w < waiting_.size() && budget > 0 &&
                     static_cast<int32_t>(running_.size()) < config_.max_seqs &&
                     plan.preempted.empty();) {
    Seq& s = seqs_.at(waiting_[w]);
    if (s.spec.group != 0 && busy_groups.count(s.spec.group)) {
      ++w;  // a sibling is computing the shared prompt: join once its blocks are cached
      continue;
    }
    const int32_t hit = MatchPrefix(s);
    if (s.cached_prompt < 0)
      s.cached_prompt = std::min<int32_t>(hit, static_cast<int32_t>(s.spec.prompt.size()));
    const int64_t left = static_cast<int64_t>(s.tokens.size()) - s.computed;
    auto n = static_cast<int32_t>(std::min<int64_t>(left, budget));
    if (!Slide(s, &n, &plan) || !EnsureBlocks(s, CacheLen(s) + n)) {
      ReleaseAll(s);  // not enough memory now: wait, keeping queue order
      break;
    }
    waiting_.erase(waiting_.begin() + static_cast<std::ptrdiff_t>(w));
    running_.push_back(s.spec.id);
    note_group(s, s.computed);
    plan.items.push_back({s.spec.id, s.computed, n,
                          s.computed + n == static_cast<int64_t>(s.tokens.size()),
                          PosOf(s, s.computed)});
    s.computed += n;
    budget -= n;
  }
  for (const Item& it : plan.items) {
    PublishFull(seqs_.at(it.id));
    plan.n_tokens += it.n;
  }
  // Only sequences that run this step keep their shifts: one that slid and was then preempted
  // or left waiting holds no blocks to rotate.
  std::erase_if(plan.shifts, [&](const Shift& sh) {
    return std::none_of(plan.items.begin(), plan.items.end(),
                        [&](const Item& it) { return it.id == sh.id; });
  });
  return plan;
}

void Scheduler::Finish(uint64_t id) {
  auto it = seqs_.find(id);
  if (it == seqs_.end()) return;
  ReleaseAll(it->second);
  std::erase(running_, id);
  std::erase(waiting_, id);
  seqs_.erase(it);
}

std::vector<uint64_t> Scheduler::Update(const std::vector<std::pair<uint64_t, int32_t>>& sampled,
                                        const std::vector<uint64_t>& finished_by_caller) {
  for (int32_t b : copied_from_) pool_->Release(b);  // the plan ran: its copies are done
  copied_from_.clear();
  std::vector<uint64_t> done;
  for (const auto& [id, token] : sampled) {
    auto it = seqs_.find(id);
    if (it == seqs_.end()) continue;
    Seq& s = it->second;
    s.tokens.push_back(token);
    if (generated(id) >= s.spec.max_tokens) done.push_back(id);
  }
  for (uint64_t id : finished_by_caller)
    if (std::find(done.begin(), done.end(), id) == done.end()) done.push_back(id);
  for (uint64_t id : done) Finish(id);
  return done;
}

PagedSeq* Scheduler::kv(uint64_t id) { return seqs_.at(id).kv.get(); }
const std::vector<int32_t>& Scheduler::tokens(uint64_t id) const { return seqs_.at(id).tokens; }
int32_t Scheduler::generated(uint64_t id) const {
  const Seq& s = seqs_.at(id);
  return static_cast<int32_t>(s.tokens.size() - s.spec.prompt.size());
}
int32_t Scheduler::cached_prompt_tokens(uint64_t id) const {
  return std::max(0, seqs_.at(id).cached_prompt);
}

void Scheduler::KvSlots(int64_t* held, int64_t* unfilled) const {
  *held = 0;
  *unfilled = 0;
  for (uint64_t id : running_) {
    const Seq& s = seqs_.at(id);
    if (!s.kv) continue;
    const int64_t slots = s.kv->capacity();
    *held += slots;
    *unfilled += std::max<int64_t>(0, slots - CacheLen(s));
  }
}

}  // namespace seekd::engine
