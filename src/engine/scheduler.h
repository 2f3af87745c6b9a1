// Continuous-batching scheduler as a pure policy (no model, no clock of its own): Schedule()
// returns a plan — which tokens of which sequences to compute this step — and Update() takes
// what the runner sampled. The KV blocks of every sequence come from a BlockPool.
//
// Policy, in order, each step:
//   1. cancelled sequences leave and free their blocks;
//   2. running sequences, by (priority, arrival): each gets its remaining tokens (1 when
//      decoding; a chunk when still prefilling) within --max-batch-tokens. When blocks run out,
//      the least important running sequence is preempted — its blocks are released (full ones
//      stay in the prefix cache) and it returns to the front of the queue to be recomputed;
//   3. waiting sequences, by (priority, arrival), while tokens, --max-seqs and blocks allow:
//      on admission the prompt's full blocks are looked up in the prefix cache (chained
//      content hashes), hits are shared by reference, and the rest is prefilled in chunks.
// A step's decode tokens come before any prefill chunk, so a long prompt never stalls streams.
//
// Thread-safety: none; the engine loop owns it.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <vector>

#include "core/status.h"
#include "engine/kv_cache.h"

namespace seekd::engine {

struct SchedulerConfig {
  int32_t max_batch_tokens = 512;  // tokens computed per step, all sequences together
  int32_t max_seqs = 16;           // sequences running at once
  int32_t max_queue = 256;         // waiting sequences; more is "overloaded"
  int64_t max_model_len = 4096;    // prompt + generated tokens per sequence
  // Streaming window, off when window == 0 (docs/design/engine.md): a sequence that outgrows
  // sinks + window keeps its first `sinks` tokens (rounded up to whole blocks) and at least its
  // last `window` (rounded up too); the blocks in between are dropped as it grows, and the
  // runner turns the kept keys back to their new, cache-relative positions (Plan::shifts), as
  // in StreamingLLM (arXiv 2309.17453). Sequences may then run past max_model_len; ones that
  // never outgrow the window are computed exactly as without it.
  int32_t window = 0;
  int32_t sinks = 4;
};

// Whether a configuration can run: the window needs sinks + window + one block of positions
// inside the context (the positions RoPE was trained on).
Status CheckSchedulerConfig(const SchedulerConfig& c, int32_t block_size);
// Whether a request of prompt_len + max_tokens can ever run: OutOfRange past the context
// (without a window) or past the whole pool.
Status CheckFits(const SchedulerConfig& c, int64_t prompt_len, int32_t max_tokens,
                 int32_t block_size, int32_t n_blocks);

struct SeqSpec {
  uint64_t id = 0;
  std::vector<int32_t> prompt;
  int32_t max_tokens = 16;
  int32_t priority = 0;  // lower runs first; equal priorities are first come, first served
  // Siblings (n samples of one prompt) share a non-zero group: while one of them computes the
  // prompt the others wait, then find its blocks in the prefix cache instead of recomputing.
  uint64_t group = 0;
};

class Scheduler {
 public:
  // arena: where the sequences' K/V live (null for bookkeeping-only use, as in tests).
  Scheduler(SchedulerConfig config, BlockPool* pool, KvArena* arena);

  // Queues a sequence. Unavailable when the queue is full (the server answers 503 +
  // Retry-After); OutOfRange when prompt + max_tokens exceeds max_model_len or needs more
  // blocks than the whole pool has.
  Status Submit(SeqSpec spec);
  // Marks a sequence cancelled; its blocks are freed at the next Schedule.
  void Cancel(uint64_t id);

  struct Item {
    uint64_t id;
    int64_t start;  // first token computed this step (index into tokens(id))
    int32_t n;      // tokens computed: start … start + n − 1
    bool sample;    // the last one's logits give the sequence's next token
    int64_t pos;    // KV position (and RoPE position) of `start`: start − shift under a window
  };
  // Under a window: before this step's forward, the keys at KV positions [from, from + count)
  // must be rotated back by `delta` positions (blocks before them were dropped).
  struct Shift {
    uint64_t id;
    int64_t from, count, delta;
  };
  struct Plan {
    std::vector<Item> items;
    std::vector<Shift> shifts;
    // (from, to): block contents to copy before the shifts and the forward (a shared block a
    // window is about to rotate becomes the sequence's own copy).
    std::vector<std::pair<int32_t, int32_t>> copies;
    std::vector<uint64_t> preempted;  // released this step, back in the queue
    std::vector<uint64_t> cancelled;  // gone for good
    int32_t n_tokens = 0;
  };
  Plan Schedule();

  // After running a plan: one sampled token per `sample` item, and the sequences the caller
  // finished (stop token or string). A sequence that reaches max_tokens finishes by itself.
  // Returns the ids that finished in this update (and freed their blocks).
  std::vector<uint64_t> Update(const std::vector<std::pair<uint64_t, int32_t>>& sampled,
                               const std::vector<uint64_t>& finished_by_caller);

  // Sequence state the runner needs (valid while the sequence is known).
  PagedSeq* kv(uint64_t id);
  const std::vector<int32_t>& tokens(uint64_t id) const;
  int32_t generated(uint64_t id) const;
  // Prompt tokens found in the prefix cache at (first) admission, and those computed.
  int32_t cached_prompt_tokens(uint64_t id) const;
  // Tokens dropped from the middle of the sequence's KV (0 without a window): KV position p
  // holds token p below the sinks and token p + shift above them.
  int64_t shift(uint64_t id) const { return seqs_.at(id).shift; }
  int64_t sink_tokens() const { return sink_tokens_; }
  bool known(uint64_t id) const { return seqs_.count(id) != 0; }

  int32_t n_waiting() const { return static_cast<int32_t>(waiting_.size()); }
  int32_t n_running() const { return static_cast<int32_t>(running_.size()); }
  int64_t n_preemptions() const { return n_preemptions_; }
  // KV slots running sequences hold but have not filled (the tail of each last block), and the
  // slots they hold in all: their ratio is the memory held but unused.
  void KvSlots(int64_t* held, int64_t* unfilled) const;
  const SchedulerConfig& config() const { return config_; }

 private:
  struct Seq {
    SeqSpec spec;
    uint64_t arrival = 0;
    std::vector<int32_t> tokens;   // prompt then generated
    int64_t computed = 0;          // tokens whose K/V are in the blocks
    std::vector<uint64_t> hashes;  // chain hash of each full, published block
    std::unique_ptr<PagedSeq> kv;
    int32_t cached_prompt = -1;  // set at first admission
    bool cancelled = false;
    int64_t shift = 0;  // tokens dropped between the sinks and the window
  };
  // Positions the sequence's KV holds (computed tokens less the dropped ones).
  int64_t CacheLen(const Seq& s) const;
  // The KV position of token index i.
  int64_t PosOf(const Seq& s, int64_t i) const { return i < sink_tokens_ ? i : i - s.shift; }
  // Under a window: caps a step's n, skips the gap a recompute leaves, and drops blocks so n
  // more positions fit. False (and nothing changed) when a shared block could not be copied.
  bool Slide(Seq& s, int32_t* n, Plan* plan);
  bool Before(const Seq& a, const Seq& b) const;
  bool EnsureBlocks(Seq& s, int64_t n_positions);
  void ReleaseAll(Seq& s);
  void Preempt(uint64_t id, Plan* plan);
  void PublishFull(Seq& s);
  int32_t MatchPrefix(Seq& s);
  void Finish(uint64_t id);

  SchedulerConfig config_;
  BlockPool* pool_;
  std::map<uint64_t, Seq> seqs_;
  std::deque<uint64_t> waiting_;
  std::vector<uint64_t> running_;
  uint64_t next_arrival_ = 0;
  int64_t n_preemptions_ = 0;
  KvArena* arena_;
  int64_t sink_tokens_ = 0, window_tokens_ = 0;  // rounded up to whole blocks
  std::vector<int32_t> copied_from_;  // sources of the last plan's copies, held until the next
};

}  // namespace seekd::engine
