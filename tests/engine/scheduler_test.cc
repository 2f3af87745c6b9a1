// The scheduler and block pool with no model: a fake runner that "computes" a position by
// writing its token into simulated block memory, and checks that every position a step relies
// on is present — with the right token — in the sequence's blocks. Its next token is a hash of
// the whole context, so any mix-up in block tables, prefix sharing or preemption changes the
// output.
#include "engine/scheduler.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

namespace seekd::engine {
namespace {

constexpr int32_t kVocab = 1000;

int32_t NextToken(const std::vector<int32_t>& ctx) {
  uint64_t h = 1469598103934665603ull;
  for (int32_t t : ctx) h = (h ^ static_cast<uint64_t>(t)) * 1099511628211ull;
  return static_cast<int32_t>(h % kVocab);
}

class FakeRunner {
 public:
  FakeRunner(Scheduler* s, BlockPool* p)
      : s_(s),
        p_(p),
        mem_(static_cast<size_t>(p->n_blocks()),
             std::vector<Slot>(static_cast<size_t>(p->block_size()))) {}

  // Executes one plan; returns the sampled tokens and fails the test on any inconsistency.
  // Each KV slot remembers its token and the position its "key" was rotated to, so a window's
  // shifts must move every kept key to exactly its new position.
  std::vector<std::pair<uint64_t, int32_t>> Run(const Scheduler::Plan& plan) {
    std::vector<std::pair<uint64_t, int32_t>> out;
    const int32_t bs = p_->block_size();
    for (const auto& [from, to] : plan.copies) {
      EXPECT_GT(p_->refs(from), 0) << "copying from a block nobody holds";
      mem_[static_cast<size_t>(to)] = mem_[static_cast<size_t>(from)];
    }
    for (const auto& sh : plan.shifts) {
      const auto& blocks = s_->kv(sh.id)->blocks();
      EXPECT_EQ(sh.from, s_->sink_tokens());
      EXPECT_EQ(sh.delta % bs, 0);
      for (int64_t pos = sh.from; pos < sh.from + sh.count; ++pos) {
        EXPECT_EQ(p_->refs(blocks[pos / bs]), 1) << "rotating a shared block";
        Slot& slot = mem_[static_cast<size_t>(blocks[pos / bs])][pos % bs];
        slot.pos -= sh.delta;
      }
    }
    for (const auto& it : plan.items) {
      const auto& toks = s_->tokens(it.id);
      const auto& blocks = s_->kv(it.id)->blocks();
      const int64_t shift = s_->shift(it.id);
      auto text_index = [&](int64_t pos) { return pos < s_->sink_tokens() ? pos : pos + shift; };
      EXPECT_EQ(text_index(it.pos), it.start);
      EXPECT_GE(static_cast<int64_t>(blocks.size()) * bs, it.pos + it.n);
      for (int64_t pos = 0; pos < it.pos; ++pos) {  // the context must already be there
        const Slot& slot = mem_[static_cast<size_t>(blocks[pos / bs])][pos % bs];
        EXPECT_EQ(slot.token, toks[static_cast<size_t>(text_index(pos))])
            << "seq " << it.id << " pos " << pos;
        EXPECT_EQ(slot.pos, pos) << "seq " << it.id << " key not at its position";
      }
      for (int64_t pos = it.pos; pos < it.pos + it.n; ++pos) {
        EXPECT_EQ(p_->refs(blocks[pos / bs]), 1) << "writing into a shared block";
        mem_[static_cast<size_t>(blocks[pos / bs])][pos % bs] = {
            toks[static_cast<size_t>(text_index(pos))], pos};
      }
      if (it.sample) {
        EXPECT_EQ(it.start + it.n, static_cast<int64_t>(toks.size()));
        out.emplace_back(it.id, NextToken(toks));
      }
    }
    return out;
  }

 private:
  struct Slot {
    int32_t token = -1;
    int64_t pos = -1;
  };
  Scheduler* s_;
  BlockPool* p_;
  std::vector<std::vector<Slot>> mem_;
};

struct Harness {
  Harness(int32_t n_blocks, int32_t bs, SchedulerConfig cfg)
      : pool(n_blocks, bs), sched(cfg, &pool, nullptr), runner(&sched, &pool) {}
  // Runs steps until nothing is left; returns each finished sequence's generated tokens.
  std::map<uint64_t, std::vector<int32_t>> Drain(int max_steps = 10000) {
    std::map<uint64_t, std::vector<int32_t>> out;
    for (int step = 0; step < max_steps && (sched.n_running() + sched.n_waiting()) > 0; ++step) {
      const auto plan = sched.Schedule();
      plans.push_back(plan);
      EXPECT_LE(plan.n_tokens, sched.config().max_batch_tokens);
      const auto sampled = runner.Run(plan);
      for (const auto& [id, tok] : sampled) out[id].push_back(tok);
      sched.Update(sampled, {});
    }
    EXPECT_EQ(sched.n_running() + sched.n_waiting(), 0) << "did not finish";
    return out;
  }
  BlockPool pool;
  Scheduler sched;
  FakeRunner runner;
  std::vector<Scheduler::Plan> plans;
};

std::vector<int32_t> Prompt(int n, int seed) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back((i * 37 + seed * 101) % kVocab);
  return p;
}

// What a sequence generates alone, with memory to spare.
std::vector<int32_t> Solo(const std::vector<int32_t>& prompt, int max_tokens) {
  std::vector<int32_t> ctx = prompt, out;
  for (int i = 0; i < max_tokens; ++i) {
    out.push_back(NextToken(ctx));
    ctx.push_back(out.back());
  }
  return out;
}

TEST(Scheduler, DecodesComeFirstAndLongPromptsAreChunked) {
  SchedulerConfig cfg;
  cfg.max_batch_tokens = 32;
  Harness h(200, 4, cfg);
  ASSERT_TRUE(h.sched.Submit({1, Prompt(10, 1), 30, 0}).ok());
  h.sched.Update({}, {});
  const auto first = h.sched.Schedule();
  ASSERT_EQ(first.items.size(), 1u);
  EXPECT_EQ(first.items[0].n, 10);
  h.sched.Update(h.runner.Run(first), {});
  ASSERT_TRUE(h.sched.Submit({2, Prompt(100, 2), 5, 0}).ok());
  // While 2 prefills in chunks, 1 decodes one token every step, ahead of the chunk.
  int chunks = 0;
  std::vector<int32_t> got2;
  for (int step = 0; step < 4; ++step) {
    const auto plan = h.sched.Schedule();
    ASSERT_GE(plan.items.size(), 1u);
    EXPECT_EQ(plan.items[0].id, 1u);
    EXPECT_EQ(plan.items[0].n, 1);
    if (plan.items.size() > 1) {
      EXPECT_EQ(plan.items[1].id, 2u);
      EXPECT_LE(plan.items[1].n, 31);
      ++chunks;
    }
    const auto sampled = h.runner.Run(plan);
    for (const auto& [id, tok] : sampled)
      if (id == 2) got2.push_back(tok);
    h.sched.Update(sampled, {});
  }
  EXPECT_EQ(chunks, 4);  // 31 + 31 + 31 + 7 prompt tokens
  auto out = h.Drain();
  got2.insert(got2.end(), out[2].begin(), out[2].end());
  EXPECT_EQ(got2, Solo(Prompt(100, 2), 5));
}

TEST(Scheduler, PrefixCacheSharesFullBlocksAndReportsHits) {
  SchedulerConfig cfg;
  Harness h(64, 8, cfg);
  const auto a = Prompt(40, 3);
  ASSERT_TRUE(h.sched.Submit({1, a, 4, 0}).ok());
  auto out = h.Drain();
  EXPECT_EQ(out[1], Solo(a, 4));
  EXPECT_GT(h.pool.n_cached_idle(), 0);
  // Same first 35 tokens: 4 full blocks (32 tokens) are shared, the rest computed.
  auto b = std::vector<int32_t>(a.begin(), a.begin() + 35);
  b.push_back(999);
  ASSERT_TRUE(h.sched.Submit({2, b, 4, 0}).ok());
  const auto plan = h.sched.Schedule();
  ASSERT_EQ(plan.items.size(), 1u);
  EXPECT_EQ(plan.items[0].start, 32);
  EXPECT_EQ(plan.items[0].n, 4);
  EXPECT_EQ(h.sched.cached_prompt_tokens(2), 32);
  h.sched.Update(h.runner.Run(plan), {});
  out = h.Drain();
  EXPECT_EQ(out[2].size(), 3u);  // one token came from the first step
  // A prompt that is entirely cached still computes its last token.
  ASSERT_TRUE(h.sched.Submit({3, std::vector<int32_t>(a.begin(), a.begin() + 32), 2, 0}).ok());
  const auto p3 = h.sched.Schedule();
  EXPECT_EQ(p3.items[0].start, 24);
  EXPECT_EQ(h.sched.cached_prompt_tokens(3), 24);
  h.sched.Update(h.runner.Run(p3), {});
  h.Drain();
  EXPECT_TRUE(h.pool.CheckInvariants().ok());
}

TEST(Scheduler, PreemptionRecomputesAndOutputsDoNotChange) {
  SchedulerConfig cfg;
  cfg.max_batch_tokens = 64;
  Harness h(16, 4, cfg);  // 64 positions for three sequences of up to 30
  std::map<uint64_t, std::vector<int32_t>> want;
  for (uint64_t id = 1; id <= 3; ++id) {
    const auto p = Prompt(10, static_cast<int>(id));
    ASSERT_TRUE(h.sched.Submit({id, p, 20, 0}).ok());
    want[id] = Solo(p, 20);
  }
  const auto out = h.Drain();
  EXPECT_EQ(out, want);
  EXPECT_GT(h.sched.n_preemptions(), 0);
  EXPECT_EQ(h.pool.n_in_use(), 0);
  EXPECT_TRUE(h.pool.CheckInvariants().ok());
}

TEST(Scheduler, OverloadAndImpossibleRequestsAreTypedErrors) {
  SchedulerConfig cfg;
  cfg.max_queue = 2;
  cfg.max_model_len = 100;
  Harness h(10, 4, cfg);
  EXPECT_TRUE(h.sched.Submit({1, Prompt(5, 1), 5, 0}).ok());
  EXPECT_TRUE(h.sched.Submit({2, Prompt(5, 2), 5, 0}).ok());
  const Status full = h.sched.Submit({3, Prompt(5, 3), 5, 0});
  EXPECT_EQ(full.code(), StatusCode::kUnavailable);
  EXPECT_NE(full.message().find("overloaded"), std::string::npos);
  h.Drain();
  EXPECT_EQ(h.sched.Submit({4, Prompt(90, 4), 20, 0}).code(),
            StatusCode::kOutOfRange);  // > context
  EXPECT_EQ(h.sched.Submit({5, Prompt(30, 5), 20, 0}).code(), StatusCode::kOutOfRange);  // > pool
  EXPECT_EQ(h.sched.Submit({6, {}, 5, 0}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(h.sched.Submit({7, Prompt(5, 7), 5, 0}).ok());
  EXPECT_EQ(h.sched.Submit({7, Prompt(5, 7), 5, 0}).code(), StatusCode::kInvalidArgument);
}

TEST(Scheduler, PriorityThenArrivalAndMaxSeqs) {
  SchedulerConfig cfg;
  cfg.max_seqs = 2;
  Harness h(100, 4, cfg);
  ASSERT_TRUE(h.sched.Submit({1, Prompt(4, 1), 3, 5}).ok());
  ASSERT_TRUE(h.sched.Submit({2, Prompt(4, 2), 3, 0}).ok());
  ASSERT_TRUE(h.sched.Submit({3, Prompt(4, 3), 3, 0}).ok());
  const auto plan = h.sched.Schedule();
  ASSERT_EQ(plan.items.size(), 2u);
  EXPECT_EQ(plan.items[0].id, 2u);
  EXPECT_EQ(plan.items[1].id, 3u);
  EXPECT_EQ(h.sched.n_waiting(), 1);
}

TEST(Scheduler, CancelFreesBlocksAtTheNextStep) {
  SchedulerConfig cfg;
  Harness h(32, 4, cfg);
  ASSERT_TRUE(h.sched.Submit({1, Prompt(20, 1), 50, 0}).ok());
  const auto plan = h.sched.Schedule();
  h.sched.Update(h.runner.Run(plan), {});
  EXPECT_GT(h.pool.n_in_use(), 0);
  h.sched.Cancel(1);
  const auto next = h.sched.Schedule();
  EXPECT_EQ(next.cancelled, std::vector<uint64_t>{1});
  EXPECT_TRUE(next.items.empty());
  EXPECT_EQ(h.pool.n_in_use(), 0);
  EXPECT_FALSE(h.sched.known(1));
}

// Random arrivals sharing prefixes, random cancellations and caller-side finishes, a pool small
// enough to force preemption: afterwards every block is free or cached and no count is left.
TEST(Scheduler, RandomizedStressLeavesEveryBlockFreeOrCached) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    std::mt19937 rng(seed);
    SchedulerConfig cfg;
    cfg.max_batch_tokens = 48;
    cfg.max_seqs = 6;
    cfg.max_queue = 1000;
    Harness h(40, 4, cfg);
    const auto shared = Prompt(24, 77);
    uint64_t next_id = 1;
    std::vector<uint64_t> live;
    std::map<uint64_t, std::pair<std::vector<int32_t>, int>> specs;
    std::map<uint64_t, std::vector<int32_t>> got;
    std::set<uint64_t> interrupted;
    for (int step = 0; step < 600; ++step) {
      if (step < 400 && rng() % 3 == 0) {
        std::vector<int32_t> p(shared.begin(), shared.begin() + rng() % 24);
        const int extra = 1 + static_cast<int>(rng() % 20);
        for (int i = 0; i < extra; ++i) p.push_back(static_cast<int32_t>(rng() % kVocab));
        const int max_tokens = 1 + static_cast<int>(rng() % 30);
        if (h.sched.Submit({next_id, p, max_tokens, static_cast<int32_t>(rng() % 3)}).ok()) {
          specs[next_id] = {p, max_tokens};
          live.push_back(next_id);
        }
        ++next_id;
      }
      if (!live.empty() && rng() % 17 == 0) {
        const uint64_t id = live[rng() % live.size()];
        h.sched.Cancel(id);
        interrupted.insert(id);
      }
      const auto plan = h.sched.Schedule();
      const auto sampled = h.runner.Run(plan);
      std::vector<uint64_t> stop;
      for (const auto& [id, tok] : sampled) {
        got[id].push_back(tok);
        if (tok % 97 == 0) {  // the caller's stop condition
          stop.push_back(id);
          interrupted.insert(id);
        }
      }
      h.sched.Update(sampled, stop);
      std::erase_if(live, [&](uint64_t id) { return !h.sched.known(id); });
      ASSERT_TRUE(h.pool.CheckInvariants().ok()) << h.pool.CheckInvariants().ToString();
    }
    h.Drain();
    EXPECT_EQ(h.pool.n_in_use(), 0) << "seed " << seed;
    for (int32_t b = 0; b < h.pool.n_blocks(); ++b) EXPECT_EQ(h.pool.refs(b), 0);
    EXPECT_TRUE(h.pool.CheckInvariants().ok());
    // Sequences that ran to max_tokens produced exactly their solo output.
    for (const auto& [id, spec] : specs) {
      if (interrupted.count(id)) continue;
      EXPECT_EQ(got[id], Solo(spec.first, spec.second)) << "seed " << seed << " seq " << id;
    }
  }
}

TEST(BlockPool, LruEvictionAndLookupRevival) {
  BlockPool pool(3, 2);
  const std::vector<int32_t> t1 = {1, 2}, t2 = {3, 4};
  const int32_t a = *pool.Allocate(), b = *pool.Allocate();
  pool.Publish(a, ChainHash(0, t1), t1);
  pool.Publish(b, ChainHash(0, t2), t2);
  pool.Release(a);  // a idle first, then b: a is the older
  pool.Release(b);
  EXPECT_EQ(pool.n_cached_idle(), 2);
  // A lookup revives b; then two allocations take the free block and evict a.
  ASSERT_EQ(pool.Lookup(ChainHash(0, t2), t2), b);
  EXPECT_FALSE(pool.Lookup(ChainHash(0, t2), t1).has_value()) << "tokens are compared";
  const int32_t c = *pool.Allocate(), d = *pool.Allocate();
  EXPECT_NE(c, b);
  EXPECT_EQ(d, a);
  EXPECT_FALSE(pool.Lookup(ChainHash(0, t1), t1).has_value()) << "evicted";
  EXPECT_FALSE(pool.Allocate().has_value());
  EXPECT_TRUE(pool.CheckInvariants().ok());
}

TEST(SchedulerWindow, ShortSequencesAreUntouchedAndLongOnesSlide) {
  SchedulerConfig cfg;
  cfg.max_batch_tokens = 64;
  cfg.max_model_len = 64;
  cfg.window = 20;  // rounded up to 24 with 4-token blocks
  cfg.sinks = 3;    // rounded up to 4
  Harness h(64, 4, cfg);
  // Fits in sinks + window + a block (32 positions): exactly as without a window.
  ASSERT_TRUE(h.sched.Submit({1, Prompt(10, 1), 20}).ok());
  // Runs far past the 64-token context: prompt 40 (itself past the window), 200 generated.
  ASSERT_TRUE(h.sched.Submit({2, Prompt(40, 2), 200}).ok());
  int max_blocks = 0;
  std::map<uint64_t, std::vector<int32_t>> out;
  while (h.sched.n_running() + h.sched.n_waiting() > 0) {
    const auto plan = h.sched.Schedule();
    for (const auto& it : plan.items) {
      EXPECT_LE(it.pos + it.n, 4 + 24 + 4) << "past sinks + window + one block";
      max_blocks = std::max(max_blocks, static_cast<int>(h.sched.kv(it.id)->blocks().size()));
    }
    const auto sampled = h.runner.Run(plan);
    for (const auto& [id, tok] : sampled) out[id].push_back(tok);
    h.sched.Update(sampled, {});
    ASSERT_TRUE(h.pool.CheckInvariants().ok());
  }
  EXPECT_EQ(out[1], Solo(Prompt(10, 1), 20));
  EXPECT_EQ(out[2].size(), 200u);
  EXPECT_LE(max_blocks, 8);
  EXPECT_EQ(h.pool.n_in_use(), 0);
  // Without a window the long one does not fit the context.
  SchedulerConfig plain = cfg;
  plain.window = 0;
  Harness p(64, 4, plain);
  EXPECT_EQ(p.sched.Submit({3, Prompt(40, 2), 200}).code(), StatusCode::kOutOfRange);
}

TEST(SchedulerWindow, SharedPrefixBlocksAreCopiedBeforeTheyMove) {
  SchedulerConfig cfg;
  cfg.max_batch_tokens = 64;
  cfg.max_model_len = 64;
  cfg.window = 8;
  cfg.sinks = 4;
  Harness h(64, 4, cfg);
  // The first fills and publishes 5 full blocks; the second finds them in the prefix cache,
  // then both slide past them — the shared blocks must be copied, not rotated under the other.
  ASSERT_TRUE(h.sched.Submit({1, Prompt(21, 5), 1}).ok());
  h.Drain();
  ASSERT_TRUE(h.sched.Submit({2, Prompt(21, 5), 60}).ok());
  ASSERT_TRUE(h.sched.Submit({3, Prompt(21, 5), 60}).ok());
  const auto out = h.Drain();
  EXPECT_EQ(out.at(2), out.at(3));
  EXPECT_TRUE(h.pool.CheckInvariants().ok());
  EXPECT_EQ(h.pool.n_in_use(), 0);
}

TEST(SchedulerWindow, RandomizedStressWithPreemption) {
  for (uint32_t seed = 1; seed <= 5; ++seed) {
    std::mt19937 rng(seed);
    SchedulerConfig cfg;
    cfg.max_batch_tokens = 32;
    cfg.max_seqs = 5;
    cfg.max_queue = 1000;
    cfg.max_model_len = 40;
    cfg.window = 12;
    cfg.sinks = 2;
    Harness h(20, 4, cfg);  // 20 blocks for up to 5 × 6: preemption happens
    const auto shared = Prompt(16, 9);
    uint64_t next_id = 1;
    int64_t preempted = 0;
    for (int step = 0; step < 800; ++step) {
      if (step < 500 && rng() % 4 == 0) {
        std::vector<int32_t> p(shared.begin(), shared.begin() + rng() % 16);
        const int extra = 1 + static_cast<int>(rng() % 40);
        for (int i = 0; i < extra; ++i) p.push_back(static_cast<int32_t>(rng() % kVocab));
        (void)h.sched.Submit({next_id++, p, 1 + static_cast<int>(rng() % 80)});
      }
      if (rng() % 23 == 0) h.sched.Cancel(1 + rng() % next_id);
      const auto plan = h.sched.Schedule();
      preempted += static_cast<int64_t>(plan.preempted.size());
      const auto sampled = h.runner.Run(plan);
      std::vector<uint64_t> stop;
      for (const auto& [id, tok] : sampled)
        if (tok % 89 == 0) stop.push_back(id);
      h.sched.Update(sampled, stop);
      ASSERT_TRUE(h.pool.CheckInvariants().ok()) << h.pool.CheckInvariants().ToString();
    }
    h.Drain();
    EXPECT_GT(preempted, 0) << "seed " << seed;
    EXPECT_EQ(h.pool.n_in_use(), 0) << "seed " << seed;
    for (int32_t b = 0; b < h.pool.n_blocks(); ++b) EXPECT_EQ(h.pool.refs(b), 0);
  }
}

TEST(SchedulerWindow, ConfigMustFitTheContext) {
  SchedulerConfig cfg;
  cfg.max_model_len = 32;
  cfg.window = 20;
  cfg.sinks = 4;
  EXPECT_TRUE(CheckSchedulerConfig(cfg, 4).ok());  // 4 + 20 + 4 = 28
  cfg.window = 28;
  EXPECT_FALSE(CheckSchedulerConfig(cfg, 4).ok());  // 36 > 32
  cfg.window = -1;
  EXPECT_FALSE(CheckSchedulerConfig(cfg, 4).ok());
}

}  // namespace
}  // namespace seekd::engine
