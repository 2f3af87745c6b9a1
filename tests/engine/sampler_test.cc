#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

namespace seekd::engine {
namespace {

std::vector<float> Logits() { return {1.0f, 3.0f, 2.0f, 3.0f, -1.0f, 0.5f, 2.5f, 0.0f}; }

TEST(Sampler, GreedyTakesTheLargestLogitAndTheLowestIdOnTies) {
  SamplingParams p;
  p.greedy = true;
  Sampler s(p, {});
  auto l = Logits();
  EXPECT_EQ(s.Sample(l), 1);
  SamplingParams t0;
  t0.temperature = 0.0f;
  Sampler s0(t0, {});
  l = Logits();
  EXPECT_EQ(s0.Sample(l), 1);
}

// Greedy against the plain first-strictly-greater scan, on vocabularies of every length mod 8
// with ties, signed zeros, infinities and NaNs.
TEST(Sampler, GreedyMatchesAPlainScanOnTiesInfinitiesAndNans) {
  auto plain = [](const std::vector<float>& l) {
    size_t best = 0;
    for (size_t i = 1; i < l.size(); ++i)
      if (l[i] > l[best]) best = i;
    return static_cast<int32_t>(best);
  };
  std::mt19937 rng(7);
  const float specials[] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 3.0f};
  SamplingParams p;
  p.greedy = true;
  Sampler s(p, {});
  for (int trial = 0; trial < 2000; ++trial) {
    const size_t n = 1 + rng() % 40;
    std::vector<float> l(n);
    for (float& x : l)
      x = rng() % 3 == 0 ? specials[rng() % 6]
                         : static_cast<float>(static_cast<int>(rng() % 7) - 3);
    std::vector<float> copy = l;
    ASSERT_EQ(s.Sample(copy), plain(l)) << "trial " << trial;
  }
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDifferentStream) {
  SamplingParams p;
  p.seed = 1234;
  p.temperature = 1.5f;
  auto run = [&](uint64_t seed) {
    SamplingParams q = p;
    q.seed = seed;
    Sampler s(q, {});
    std::vector<int32_t> out;
    for (int i = 0; i < 200; ++i) {
      auto l = Logits();
      out.push_back(s.Sample(l));
    }
    return out;
  };
  EXPECT_EQ(run(1234), run(1234));
  EXPECT_NE(run(1234), run(1235));
}

// Frequencies follow softmax(logits / T) (± 5 standard errors over 40,000 draws).
TEST(Sampler, DrawsFollowTheTemperedSoftmax) {
  SamplingParams p;
  p.temperature = 0.7f;
  p.seed = 7;
  Sampler s(p, {});
  const auto base = Logits();
  std::vector<double> want(base.size());
  double z = 0;
  for (size_t i = 0; i < base.size(); ++i) z += (want[i] = std::exp(base[i] / 0.7));
  for (auto& w : want) w /= z;
  std::vector<int> count(base.size());
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    auto l = base;
    ++count[static_cast<size_t>(s.Sample(l))];
  }
  for (size_t i = 0; i < base.size(); ++i) {
    const double se = std::sqrt(want[i] * (1 - want[i]) / n);
    EXPECT_NEAR(count[i] / static_cast<double>(n), want[i], 5 * se + 1e-4) << i;
  }
}

std::set<int32_t> Support(const SamplingParams& p, int draws = 5000) {
  Sampler s(p, {});
  std::set<int32_t> seen;
  for (int i = 0; i < draws; ++i) {
    auto l = Logits();
    seen.insert(s.Sample(l));
  }
  return seen;
}

TEST(Sampler, TopKTopPAndMinPRestrictTheSupportExactly) {
  SamplingParams k;
  k.top_k = 3;  // 3.0 (1), 3.0 (3), 2.5 (6)
  EXPECT_EQ(Support(k), (std::set<int32_t>{1, 3, 6}));
  k.top_k = 1;
  EXPECT_EQ(Support(k), (std::set<int32_t>{1}));

  // Probabilities at T=1: ids 1 and 3 ≈ 0.307 each, 6 ≈ 0.186, 2 ≈ 0.113, 0 ≈ 0.042, ...
  SamplingParams tp;
  tp.top_p = 0.7f;  // 0.614 after two, 0.800 after three
  EXPECT_EQ(Support(tp), (std::set<int32_t>{1, 3, 6}));
  tp.top_p = 0.6f;
  EXPECT_EQ(Support(tp), (std::set<int32_t>{1, 3}));
  tp.top_p = 0.3f;  // the first in (probability, id) order already covers it
  EXPECT_EQ(Support(tp), (std::set<int32_t>{1}));

  SamplingParams mp;
  mp.min_p = 0.5f;  // keep p ≥ 0.5·0.307: ids 1, 3, 6 (2 has 0.113)
  EXPECT_EQ(Support(mp), (std::set<int32_t>{1, 3, 6}));

  SamplingParams all;
  EXPECT_EQ(Support(all, 20000).size(), 8u);
}

// On a larger vocabulary the nucleus (found by partial partitions, not a sort) is exactly the
// smallest (probability, id)-ordered prefix reaching top_p, and min_p intersects it.
TEST(Sampler, NucleusEqualsTheSortedPrefixDefinition) {
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0.0f, 2.5f);
  std::vector<float> base(1000);
  for (auto& l : base) l = dist(rng);
  base[17] = base[18] = 9.0f;  // a tie near the top
  for (const auto& [top_p, min_p] :
       std::vector<std::pair<float, float>>{{0.5f, 0.0f}, {0.8f, 0.0f}, {0.9f, 0.02f}}) {
    std::vector<std::pair<double, int32_t>> p;
    double z = 0;
    for (size_t i = 0; i < base.size(); ++i) z += std::exp(static_cast<double>(base[i]) - 9.0);
    for (size_t i = 0; i < base.size(); ++i)
      p.emplace_back(std::exp(static_cast<double>(base[i]) - 9.0) / z, static_cast<int32_t>(i));
    std::sort(p.begin(), p.end(), [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    std::set<int32_t> want;
    double cum = 0;
    for (const auto& [pr, id] : p) {
      if (cum >= top_p) break;
      if (pr >= min_p * p.front().first) want.insert(id);
      cum += pr;
    }
    SamplingParams sp;
    sp.top_p = top_p;
    sp.min_p = min_p;
    sp.seed = 11;
    Sampler s(sp, {});
    std::set<int32_t> seen;
    for (int i = 0; i < 5000; ++i) {
      auto l = base;
      seen.insert(s.Sample(l));
    }
    for (int32_t id : seen) EXPECT_TRUE(want.count(id)) << id << " is outside the nucleus";
    EXPECT_GE(seen.size(), want.size() * 8 / 10) << "top_p " << top_p;
    EXPECT_LT(want.size(), 200u);
  }
}

TEST(Sampler, PenaltiesAndBiasFollowTheDocumentedFormulas) {
  SamplingParams p;
  p.repetition_penalty = 2.0f;
  p.frequency_penalty = 0.5f;
  p.presence_penalty = 0.25f;
  p.logit_bias = {{4, 10.0f}, {7, -100.0f}};
  const std::vector<int32_t> prompt = {0, 4};
  Sampler s(p, prompt);
  s.Accept(2);
  s.Accept(2);
  s.Accept(5);
  auto l = Logits();
  s.ApplyPenalties(l);
  EXPECT_FLOAT_EQ(l[0], 1.0f / 2);                     // prompt, positive: divided
  EXPECT_FLOAT_EQ(l[4], (-1.0f + 10.0f) / 2);          // bias first, then the penalty
  EXPECT_FLOAT_EQ(l[2], 2.0f / 2 - 2 * 0.5f - 0.25f);  // generated twice
  EXPECT_FLOAT_EQ(l[5], 0.5f / 2 - 0.5f - 0.25f);
  EXPECT_FLOAT_EQ(l[7], -100.0f);
  EXPECT_FLOAT_EQ(l[1], 3.0f);  // untouched
  SamplingParams neg;
  neg.repetition_penalty = 2.0f;
  const std::vector<int32_t> prompt2 = {4};
  Sampler s2(neg, prompt2);
  auto l2 = Logits();
  s2.ApplyPenalties(l2);
  EXPECT_FLOAT_EQ(l2[4], -2.0f);  // negative: multiplied
}

TEST(Sampler, LogitBiasCanForceAndBan) {
  SamplingParams p;
  p.logit_bias = {{7, 100.0f}};
  EXPECT_EQ(Support(p, 2000), (std::set<int32_t>{7}));
  SamplingParams b;
  b.greedy = true;
  b.logit_bias = {{1, -100.0f}, {3, -100.0f}};
  Sampler s(b, {});
  auto l = Logits();
  EXPECT_EQ(s.Sample(l), 6);
}

TEST(Sampler, EverythingBannedStillReturnsAToken) {
  SamplingParams p;
  Sampler s(p, {});
  std::vector<float> l(8, -std::numeric_limits<float>::infinity());
  EXPECT_EQ(s.Sample(l), 0);
}

TEST(Sampler, ValidationNamesTheField) {
  auto msg = [](SamplingParams p) { return ValidateSampling(p, 8).message(); };
  SamplingParams ok;
  EXPECT_TRUE(ValidateSampling(ok, 8).ok());
  SamplingParams p;
  p.temperature = -1;
  EXPECT_NE(msg(p).find("temperature"), std::string::npos);
  p = {};
  p.top_p = 0;
  EXPECT_NE(msg(p).find("top_p"), std::string::npos);
  p = {};
  p.top_k = -2;
  EXPECT_NE(msg(p).find("top_k"), std::string::npos);
  p = {};
  p.min_p = 1.5f;
  EXPECT_NE(msg(p).find("min_p"), std::string::npos);
  p = {};
  p.presence_penalty = 3;
  EXPECT_NE(msg(p).find("presence_penalty"), std::string::npos);
  p = {};
  p.frequency_penalty = std::nanf("");
  EXPECT_NE(msg(p).find("frequency_penalty"), std::string::npos);
  p = {};
  p.repetition_penalty = 0;
  EXPECT_NE(msg(p).find("repetition_penalty"), std::string::npos);
  p = {};
  p.logit_bias = {{8, 1.0f}};
  EXPECT_NE(msg(p).find("logit_bias"), std::string::npos);
  p.logit_bias = {{1, 101.0f}};
  EXPECT_NE(msg(p).find("logit_bias"), std::string::npos);
}

}  // namespace
}  // namespace seekd::engine
