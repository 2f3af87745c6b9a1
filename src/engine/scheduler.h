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
};

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
    int64_t start;  // first position computed this step
    int32_t n;      // tokens computed: positions start … start + n − 1
    bool sample;    // the last one's logits give the sequence's next token
  };
  struct Plan {
    std::vector<Item> items;
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
  };
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
};

}  // namespace seekd::engine
