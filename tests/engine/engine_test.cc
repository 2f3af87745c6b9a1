// The serving engine on a small generated model: many concurrent requests give exactly the
// tokens each gives alone (batch invariance, also across prefix-cache hits and preemption),
// cancellation, overload and accounting.
#include "engine/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>

#include "engine/generator.h"
#include "model/tiny_model.h"

namespace seekd::engine {
namespace {

namespace fs = std::filesystem;

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    model::TinyModelSpec s;
    s.arch = "qwen2";
    s.weights = "q4_k_m";
    s.n_vocab = 512;
    s.n_embd = 256;
    s.n_ff = 512;
    s.n_layer = 2;
    s.n_ctx = 512;
    s.init_std = 0.08;
    model::GgufWriter w;
    ASSERT_TRUE(model::WriteTinyModel(s, &w).ok());
    path_ = (fs::temp_directory_path() / ("seekd_engine_" + std::to_string(::getpid()) + ".gguf"))
                .string();
    ASSERT_TRUE(w.Write(path_).ok());
    auto llm = model::LoadLlm(path_);
    ASSERT_TRUE(llm.ok());
    llm_ = std::move(*llm).release();
  }
  static void TearDownTestSuite() {
    delete llm_;
    fs::remove(path_);
  }

  // Greedy continuation of one prompt, alone, through the single-sequence generator.
  static std::vector<int32_t> Alone(const std::vector<int32_t>& prompt, int n) {
    ThreadPool pool(2);
    Generator gen(*llm_, pool, 512);
    GenerateRequest r;
    r.prompt = prompt;
    r.max_tokens = n;
    r.sampling.greedy = true;
    auto res = gen.Generate(r, [](int32_t) { return true; });
    EXPECT_TRUE(res.ok());
    return res->tokens;
  }

  static std::string path_;
  static model::Llm* llm_;
};
std::string EngineTest::path_;
model::Llm* EngineTest::llm_ = nullptr;

// Collects events of many requests and waits for all to finish.
struct Collector {
  std::mutex mu;
  std::condition_variable cv;
  std::map<uint64_t, std::vector<int32_t>> tokens;
  std::map<uint64_t, Event> finish;
  std::function<void(const Event&)> For(uint64_t* id_slot) {
    return [this, id_slot](const Event& e) {
      std::lock_guard<std::mutex> lock(mu);
      if (e.kind == Event::Kind::kToken) {
        tokens[*id_slot].push_back(e.token);
      } else {
        finish[*id_slot] = e;
        cv.notify_all();
      }
    };
  }
  void Wait(size_t n) {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(120), [&] { return finish.size() >= n; }));
  }
};

std::vector<int32_t> Prompt(int n, int seed) {
  std::vector<int32_t> p;
  for (int i = 0; i < n; ++i) p.push_back((i * 31 + seed * 7) % 512);
  return p;
}

TEST_F(EngineTest, SixteenConcurrentRequestsGiveTheirSoloTokens) {
  EngineOptions o;
  o.threads = 2;
  o.scheduler.max_batch_tokens = 64;  // forces chunked prefill of the longer prompts
  Engine eng(*llm_, o);
  Collector c;
  std::vector<uint64_t> ids(16);
  std::map<size_t, std::vector<int32_t>> prompts;
  for (size_t i = 0; i < 16; ++i) {
    prompts[i] = Prompt(5 + static_cast<int>(i) * 7, static_cast<int>(i));
    Request r;
    r.prompt = prompts[i];
    r.max_tokens = 12;
    r.sampling.greedy = true;
    std::lock_guard<std::mutex> lock(c.mu);  // the id slot is filled before any event reads it
    auto id = eng.Submit(r, c.For(&ids[i]));
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids[i] = *id;
  }
  c.Wait(16);
  for (size_t i = 0; i < 16; ++i) {
    EXPECT_EQ(c.tokens[ids[i]], Alone(prompts[i], 12)) << "request " << i;
    EXPECT_EQ(c.finish[ids[i]].finish_reason, "length");
    EXPECT_EQ(c.finish[ids[i]].completion_tokens, 12);
  }
  const EngineStats s = eng.stats();
  EXPECT_EQ(s.generated_tokens, 16 * 12);
  EXPECT_EQ(s.running + s.waiting, 0);
  EXPECT_EQ(s.kv_blocks_used, 0);
}

TEST_F(EngineTest, SharedPrefixHitsTheCacheAndGivesTheSameTokens) {
  EngineOptions o;
  o.threads = 2;
  Engine eng(*llm_, o);
  const auto system = Prompt(100, 42);
  auto with = [&](int tail) {
    auto p = system;
    for (int i = 0; i < 5; ++i) p.push_back((tail * 13 + i) % 512);
    return p;
  };
  Collector c;
  uint64_t first = 0, second = 0;
  {
    Request r;
    r.prompt = with(1);
    r.max_tokens = 6;
    r.sampling.greedy = true;
    std::lock_guard<std::mutex> lock(c.mu);
    first = *eng.Submit(r, c.For(&first));
  }
  c.Wait(1);
  {
    Request r;
    r.prompt = with(2);
    r.max_tokens = 6;
    r.sampling.greedy = true;
    std::lock_guard<std::mutex> lock(c.mu);
    second = *eng.Submit(r, c.For(&second));
  }
  c.Wait(2);
  EXPECT_EQ(c.finish[first].cached_prompt_tokens, 0);
  EXPECT_EQ(c.finish[second].cached_prompt_tokens, 96);  // 6 full blocks of 16
  EXPECT_EQ(c.tokens[second], Alone(with(2), 6));
}

TEST_F(EngineTest, PreemptionUnderMemoryPressureKeepsOutputs) {
  EngineOptions o;
  o.threads = 2;
  o.block_size = 16;
  // Room for 12 blocks (192 positions) while 6 requests want up to 6 × 60.
  o.kv_cache_bytes = 12 * KvArena::BlockBytes(llm_->config(), 16);
  Engine eng(*llm_, o);
  Collector c;
  std::vector<uint64_t> ids(6);
  for (size_t i = 0; i < 6; ++i) {
    Request r;
    r.prompt = Prompt(30, 100 + static_cast<int>(i));
    r.max_tokens = 30;
    r.sampling.greedy = true;
    std::lock_guard<std::mutex> lock(c.mu);
    ids[i] = *eng.Submit(r, c.For(&ids[i]));
  }
  c.Wait(6);
  for (size_t i = 0; i < 6; ++i)
    EXPECT_EQ(c.tokens[ids[i]], Alone(Prompt(30, 100 + static_cast<int>(i)), 30)) << i;
  EXPECT_GT(eng.stats().preemptions, 0);
  EXPECT_EQ(eng.stats().kv_blocks_used, 0);
}

TEST_F(EngineTest, CancelStopsAtTheNextStepAndErrorsAreSynchronous) {
  EngineOptions o;
  o.threads = 2;
  o.scheduler.max_queue = 1;
  o.scheduler.max_seqs = 1;
  o.scheduler.max_model_len = 256;
  Engine eng(*llm_, o);
  Collector c;
  uint64_t a = 0;
  Request r;
  r.prompt = Prompt(10, 1);
  r.max_tokens = 200;
  r.sampling.greedy = true;
  {
    std::lock_guard<std::mutex> lock(c.mu);
    a = *eng.Submit(r, c.For(&a));
  }
  eng.Cancel(a);
  c.Wait(1);
  EXPECT_EQ(c.finish[a].finish_reason, "cancelled");
  EXPECT_LT(c.tokens[a].size(), 200u);
  EXPECT_EQ(eng.stats().kv_blocks_used, 0);

  Request bad = r;
  bad.prompt = {};
  EXPECT_EQ(eng.Submit(bad, [](const Event&) {}).status().code(), StatusCode::kInvalidArgument);
  bad = r;
  bad.prompt = {600};
  EXPECT_EQ(eng.Submit(bad, [](const Event&) {}).status().code(), StatusCode::kInvalidArgument);
  bad = r;
  bad.max_tokens = 250;
  EXPECT_EQ(eng.Submit(bad, [](const Event&) {}).status().code(), StatusCode::kOutOfRange);
  bad = r;
  bad.sampling.top_p = 2;
  EXPECT_EQ(eng.Submit(bad, [](const Event&) {}).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(EngineTest, StopTokenEndsWithStop) {
  EngineOptions o;
  o.threads = 1;
  Engine eng(*llm_, o);
  const auto alone = Alone(Prompt(8, 5), 10);
  Collector c;
  uint64_t id = 0;
  Request r;
  r.prompt = Prompt(8, 5);
  r.max_tokens = 10;
  r.sampling.greedy = true;
  r.stop_tokens = {alone[3]};
  {
    std::lock_guard<std::mutex> lock(c.mu);
    id = *eng.Submit(r, c.For(&id));
  }
  c.Wait(1);
  const auto stop_at = std::find(alone.begin(), alone.end(), alone[3]) - alone.begin();
  EXPECT_EQ(c.tokens[id], std::vector<int32_t>(alone.begin(), alone.begin() + stop_at + 1));
  EXPECT_EQ(c.finish[id].finish_reason, "stop");
}

}  // namespace
}  // namespace seekd::engine
