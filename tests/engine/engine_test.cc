// The serving engine on a small generated model: many concurrent requests give exactly the
// tokens each gives alone (batch invariance, also across prefix-cache hits and preemption),
// cancellation, overload and accounting.
#include "engine/engine.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <mutex>

#include "engine/generator.h"
#include "engine/kv_cache.h"
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
  o.block_size = 16;  // the counts below are in 16-token blocks
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

std::string TextOf(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) {
    s += 't';
    s += std::to_string(id);
    s += '.';
  }
  return s;
}

TEST_F(EngineTest, SiblingsOfOnePromptShareItsBlocks) {
  EngineOptions o;
  o.threads = 1;
  o.block_size = 16;  // the counts below are in 16-token blocks
  Engine eng(*llm_, o);
  const auto prompt = Prompt(70, 9);  // four full blocks of 16 and a tail of 6
  const auto alone = Alone(prompt, 5);
  Collector c;
  std::vector<uint64_t> ids(4);
  {
    std::lock_guard<std::mutex> lock(c.mu);
    for (auto& id : ids) {
      Request r;
      r.prompt = prompt;
      r.max_tokens = 5;
      r.sampling.greedy = true;
      r.group = 77;
      id = *eng.Submit(r, c.For(&id));
    }
  }
  c.Wait(4);
  int32_t cached = 0;
  for (uint64_t id : ids) {
    EXPECT_EQ(c.tokens[id], alone);
    cached += c.finish[id].cached_prompt_tokens;
  }
  // The first computes the prompt; the three others find its four full blocks cached.
  EXPECT_EQ(cached, 3 * 64);
  EXPECT_EQ(eng.stats().tokens_computed, 70 + 3 * 6 + 4 * 4);
}

// 8-bit KV cache against f32, teacher-forced over 128 positions (so both see the same tokens):
// top-1 agreement and logit error, printed for docs/BENCHMARKS.md.
TEST_F(EngineTest, Int8KvCacheStaysCloseToF32) {
  const int64_t n = 128;
  const model::LlmConfig& c = llm_->config();
  KvArena arena(c, 8, 16, /*int8=*/true);
  PagedSeq q8(&arena, 16);
  for (int32_t b = 0; b < 8; ++b) q8.blocks().push_back(b);
  model::ContiguousKv f32(c, n);
  EXPECT_LT(KvArena::BlockBytes(c, 16, true) * 3, KvArena::BlockBytes(c, 16, false));
  ThreadPool pool(1);
  model::Forward fwd(*llm_, pool);
  const auto toks = Prompt(static_cast<int>(n), 4);
  std::vector<model::BatchToken> batch;
  for (int64_t i = 0; i < n; ++i) batch.push_back({toks[static_cast<size_t>(i)], i, 0, true});
  std::vector<float> a, b;
  model::KvStore* s1[] = {&f32};
  model::KvStore* s2[] = {&q8};
  // In chunks of 32, so later chunks read K/V that earlier ones wrote.
  for (int64_t at = 0; at < n; at += 32) {
    std::vector<float> la, lb;
    std::span<const model::BatchToken> chunk(batch.data() + at, 32);
    ASSERT_TRUE(fwd.Run(chunk, s1, &la).ok());
    ASSERT_TRUE(fwd.Run(chunk, s2, &lb).ok());
    a.insert(a.end(), la.begin(), la.end());
    b.insert(b.end(), lb.begin(), lb.end());
  }
  const int64_t V = c.n_vocab;
  int agree = 0;
  double max_err = 0, sum_err = 0, sum_sq = 0;
  for (int64_t i = 0; i < n; ++i) {
    const float* x = a.data() + i * V;
    const float* y = b.data() + i * V;
    agree += std::max_element(x, x + V) - x == std::max_element(y, y + V) - y;
    for (int64_t v = 0; v < V; ++v) {
      const double d = std::fabs(static_cast<double>(x[v]) - y[v]);
      max_err = std::max(max_err, d);
      sum_err += d;
      sum_sq += static_cast<double>(x[v]) * x[v];
    }
  }
  const double rms = std::sqrt(sum_sq / static_cast<double>(n * V));
  std::printf(
      "int8 KV vs f32: top-1 agreement %d/%lld, mean |dlogit| %.5f, max %.5f, logit rms %.4f\n",
      agree, static_cast<long long>(n), sum_err / static_cast<double>(n * V), max_err, rms);
  // Random weights give nearly flat logits (small top-1 margins), the hardest case for
  // agreement; measured: 122/128 and a mean error of 3.3% of the logit RMS.
  EXPECT_GE(agree, n * 90 / 100);
  EXPECT_LT(sum_err / static_cast<double>(n * V), 0.05 * rms);
}

// A 512-token vocabulary of plain ASCII pieces ("t<id>.") so that text is easy to predict.
tok::Tokenizer AsciiTokenizer() {
  tok::VocabSpec spec;
  for (int i = 0; i < 512; ++i) spec.tokens.push_back(TextOf({i}));
  auto t = tok::Tokenizer::Create(spec);
  EXPECT_TRUE(t.ok());
  return std::move(*t);
}

TEST_F(EngineTest, StopStringAcrossTokensEndsTheTextBeforeIt) {
  EngineOptions o;
  o.threads = 1;
  Engine eng(*llm_, o);
  const tok::Tokenizer tk = AsciiTokenizer();
  const auto alone = Alone(Prompt(8, 6), 12);
  const std::string full = TextOf(alone);
  // A stop string that spans the end of token 2's text and the start of token 3's.
  const std::string t2 = TextOf({alone[2]});
  const std::string stop = t2.substr(t2.size() - 2) + TextOf({alone[3]}).substr(0, 2);
  const size_t at = full.find(stop);
  ASSERT_NE(at, std::string::npos);
  Request r;
  r.prompt = Prompt(8, 6);
  r.max_tokens = 12;
  r.sampling.greedy = true;
  r.detokenizer = &tk;
  r.stop_strings = {"never-there", stop};
  std::mutex mu;
  std::condition_variable cv;
  std::string text;
  std::vector<int32_t> toks;
  std::string reason;
  ASSERT_TRUE(eng.Submit(r,
                         [&](const Event& e) {
                           std::lock_guard<std::mutex> lock(mu);
                           text += e.text;
                           if (e.kind == Event::Kind::kToken) {
                             toks.push_back(e.token);
                           } else {
                             reason = e.finish_reason;
                             cv.notify_all();
                           }
                         })
                  .ok());
  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return !reason.empty(); }));
  EXPECT_EQ(reason, "stop");
  EXPECT_EQ(text, full.substr(0, at));
  // Generation ended with the token that completed the stop string.
  size_t len = 0, n = 0;
  while (len < at + stop.size()) len += TextOf({alone[n++]}).size();
  EXPECT_EQ(toks, std::vector<int32_t>(alone.begin(), alone.begin() + static_cast<long>(n)));
}

TEST_F(EngineTest, TextWithoutStopsIsTheWholeDecodeAndLogprobsMatchTheForwardPass) {
  EngineOptions o;
  o.threads = 1;
  Engine eng(*llm_, o);
  const tok::Tokenizer tk = AsciiTokenizer();
  const auto prompt = Prompt(9, 2);
  const auto alone = Alone(prompt, 6);
  Request r;
  r.prompt = prompt;
  r.max_tokens = 6;
  r.sampling.greedy = true;
  r.detokenizer = &tk;
  r.logprobs = 5;
  std::mutex mu;
  std::condition_variable cv;
  std::string text;
  std::vector<Event> events;
  bool done = false;
  ASSERT_TRUE(eng.Submit(r,
                         [&](const Event& e) {
                           std::lock_guard<std::mutex> lock(mu);
                           text += e.text;
                           if (e.kind == Event::Kind::kToken) events.push_back(e);
                           done = e.kind == Event::Kind::kFinish;
                           if (done) cv.notify_all();
                         })
                  .ok());
  {
    std::unique_lock<std::mutex> lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; }));
  }
  EXPECT_EQ(text, TextOf(alone));
  ASSERT_EQ(events.size(), alone.size());
  for (const Event& e : events) {
    ASSERT_EQ(e.top_logprobs.size(), 5u);
    // Greedy picks the most likely token; alternatives are sorted and are probabilities.
    EXPECT_EQ(e.top_logprobs[0].token, e.token);
    EXPECT_FLOAT_EQ(e.top_logprobs[0].logprob, e.logprob);
    double mass = 0;
    for (size_t i = 0; i < e.top_logprobs.size(); ++i) {
      EXPECT_LE(e.top_logprobs[i].logprob, 0.0f);
      if (i) {
        EXPECT_LE(e.top_logprobs[i].logprob, e.top_logprobs[i - 1].logprob);
      }
      mass += std::exp(e.top_logprobs[i].logprob);
    }
    EXPECT_LE(mass, 1.0 + 1e-5);
  }
  // The first token's log-probability against a log-softmax of the prompt's last logits.
  ThreadPool pool(1);
  model::Forward fwd(*llm_, pool);
  model::ContiguousKv kv(llm_->config(), 64);
  std::vector<model::BatchToken> batch;
  for (size_t i = 0; i < prompt.size(); ++i)
    batch.push_back({prompt[i], static_cast<int64_t>(i), 0, i + 1 == prompt.size()});
  model::KvStore* seqs[] = {&kv};
  std::vector<float> logits;
  ASSERT_TRUE(fwd.Run(batch, seqs, &logits).ok());
  double z = 0;
  for (float v : logits) z += std::exp(static_cast<double>(v));
  EXPECT_NEAR(events[0].logprob, logits[static_cast<size_t>(alone[0])] - std::log(z), 1e-4);
}

}  // namespace
}  // namespace seekd::engine
