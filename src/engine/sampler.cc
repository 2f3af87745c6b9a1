#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace seekd::engine {

Status ValidateSampling(const SamplingParams& p, int64_t n_vocab) {
  auto bad = [](const std::string& field, const std::string& why) {
    return InvalidArgument(field + " " + why);
  };
  if (!(p.temperature >= 0.0f) || p.temperature > 100.0f)
    return bad("temperature", "must be between 0 and 100");
  if (p.top_k < 0) return bad("top_k", "must be 0 (off) or positive");
  if (!(p.top_p > 0.0f && p.top_p <= 1.0f)) return bad("top_p", "must be in (0, 1]");
  if (!(p.min_p >= 0.0f && p.min_p <= 1.0f)) return bad("min_p", "must be in [0, 1]");
  if (!(p.repetition_penalty > 0.0f) || p.repetition_penalty > 100.0f)
    return bad("repetition_penalty", "must be in (0, 100]");
  if (!(p.presence_penalty >= -2.0f && p.presence_penalty <= 2.0f))
    return bad("presence_penalty", "must be between -2 and 2");
  if (!(p.frequency_penalty >= -2.0f && p.frequency_penalty <= 2.0f))
    return bad("frequency_penalty", "must be between -2 and 2");
  for (const auto& [token, bias] : p.logit_bias) {
    if (token < 0 || token >= n_vocab)
      return bad("logit_bias", "names token " + std::to_string(token) + " outside the vocabulary");
    if (!(bias >= -100.0f && bias <= 100.0f))
      return bad("logit_bias", "values must be between -100 and 100");
  }
  return Status::Ok();
}

Sampler::Sampler(SamplingParams params, std::span<const int32_t> prompt)
    : params_(std::move(params)), rng_(params_.seed) {
  for (int32_t t : prompt) {
    if (t < 0) continue;
    if (static_cast<size_t>(t) >= in_context_.size())
      in_context_.resize(static_cast<size_t>(t) + 1);
    if (!in_context_[static_cast<size_t>(t)]) {
      in_context_[static_cast<size_t>(t)] = 1;
      context_.push_back(t);
    }
  }
}

void Sampler::Accept(int32_t token) {
  if (token < 0) return;
  ++generated_[token];
  if (static_cast<size_t>(token) >= in_context_.size())
    in_context_.resize(static_cast<size_t>(token) + 1);
  if (!in_context_[static_cast<size_t>(token)]) {
    in_context_[static_cast<size_t>(token)] = 1;
    context_.push_back(token);
  }
}

void Sampler::ApplyPenalties(std::span<float> logits) const {
  const auto n = static_cast<int64_t>(logits.size());
  for (const auto& [token, bias] : params_.logit_bias)
    if (token >= 0 && token < n) logits[static_cast<size_t>(token)] += bias;
  if (params_.repetition_penalty != 1.0f) {
    const float r = params_.repetition_penalty;
    for (int32_t t : context_) {
      if (t >= n) continue;
      float& l = logits[static_cast<size_t>(t)];
      l = l > 0 ? l / r : l * r;
    }
  }
  if (params_.frequency_penalty != 0.0f || params_.presence_penalty != 0.0f) {
    for (const auto& [t, count] : generated_) {
      if (t >= n) continue;
      logits[static_cast<size_t>(t)] -=
          static_cast<float>(count) * params_.frequency_penalty + params_.presence_penalty;
    }
  }
}

double Sampler::Uniform() { return static_cast<double>(rng_() >> 11) * 0x1.0p-53; }

namespace {

// Larger logit first; equal logits by lower id (a total order, so results never depend on the
// sort algorithm).
bool Before(const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
  return a.first > b.first || (a.first == b.first && a.second < b.second);
}

// The first index of the largest logit, NaNs never chosen over a number (unless logits[0] is
// NaN: then 0, as a plain "first strictly greater" scan gives). Two passes, the first with
// eight independent running maxima: a greedy step over a 152k vocabulary was one compare
// chained on the last, ~5% of a 10-stream decode step (perf, bench-engine -c 10).
int32_t ArgMax(std::span<const float> logits) {
  const size_t n = logits.size();
  if (n == 0 || std::isnan(logits[0])) return 0;
  constexpr size_t kLanes = 8;
  float m[kLanes];
  std::fill(m, m + kLanes, logits[0]);
  size_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (size_t k = 0; k < kLanes; ++k) m[k] = logits[i + k] > m[k] ? logits[i + k] : m[k];
  float mx = m[0];
  for (size_t k = 1; k < kLanes; ++k) mx = m[k] > mx ? m[k] : mx;
  for (; i < n; ++i) mx = logits[i] > mx ? logits[i] : mx;
  for (i = 0; i < n; ++i)  // == also matches either signed zero: the first of them, as before
    if (logits[i] == mx) return static_cast<int32_t>(i);
  return 0;
}

}  // namespace

int32_t Sampler::Sample(std::span<float> logits) {
  ApplyPenalties(logits);
  if (params_.greedy || params_.temperature == 0.0f) return ArgMax(logits);
  const float inv_t = 1.0f / params_.temperature;
  for (float& l : logits) l *= inv_t;

  // Candidates: all tokens, or the top k.
  cand_.clear();
  const int32_t n = static_cast<int32_t>(logits.size());
  const bool use_k = params_.top_k > 0 && params_.top_k < n;
  if (use_k) {
    cand_.reserve(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) cand_.emplace_back(logits[static_cast<size_t>(i)], i);
    std::nth_element(cand_.begin(), cand_.begin() + params_.top_k, cand_.end(), Before);
    cand_.resize(static_cast<size_t>(params_.top_k));
    std::sort(cand_.begin(), cand_.end(), Before);
  }
  // Softmax over the candidates (or the whole vocabulary), max-subtracted, in double.
  float mx = -std::numeric_limits<float>::infinity();
  if (use_k) {
    mx = cand_.front().first;
  } else {
    for (float l : logits) mx = std::max(mx, l);
  }
  if (!std::isfinite(mx)) return ArgMax(logits);  // everything banned or NaN: deterministic
  std::vector<std::pair<double, int32_t>> probs;  // (p, id), in candidate order
  double total = 0;
  if (use_k) {
    for (const auto& [l, id] : cand_) {
      const double p = std::exp(static_cast<double>(l - mx));
      probs.emplace_back(p, id);
      total += p;
    }
  } else {
    probs.reserve(static_cast<size_t>(n));
    for (int32_t i = 0; i < n; ++i) {
      const double p = std::exp(static_cast<double>(logits[static_cast<size_t>(i)] - mx));
      probs.emplace_back(p, i);
      total += p;
    }
  }
  for (auto& [p, id] : probs) p /= total;

  if (params_.top_p < 1.0f) {
    // Only tokens above (1 − p)/n can be in the nucleus: everything below sums to less than the
    // mass the nucleus leaves out. min_p keeps a prefix of the same (probability, id) order, so
    // its threshold applies here too, with the same result as after.
    double cut = (1.0 - params_.top_p) / static_cast<double>(probs.size());
    if (params_.min_p > 0.0f) {
      double pmax = 0;
      for (const auto& pi : probs) pmax = std::max(pmax, pi.first);
      cut = std::max(cut, params_.min_p * pmax);
    }
    std::vector<std::pair<double, int32_t>> v;
    for (const auto& pi : probs)
      if (pi.first >= cut) v.push_back(pi);
    // The nucleus is the smallest prefix, in (probability desc, id asc) order, whose mass
    // reaches top_p. Found by bisection with partial partitions (expected linear time) rather
    // than a full sort: with a flat distribution the nucleus is most of the vocabulary.
    auto before = [](const auto& a, const auto& b) {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    };
    size_t lo = 0, hi = v.size();  // mass(top lo) < top_p; mass(top hi) ≥ top_p or hi = size
    double mass_lo = 0;
    while (hi - lo > 1) {
      const size_t mid = lo + (hi - lo) / 2;
      std::nth_element(v.begin() + static_cast<std::ptrdiff_t>(lo),
                       v.begin() + static_cast<std::ptrdiff_t>(mid),
                       v.begin() + static_cast<std::ptrdiff_t>(hi), before);
      double m = 0;
      for (size_t i = lo; i < mid; ++i) m += v[i].first;
      if (mass_lo + m >= params_.top_p) {
        hi = mid;
      } else {
        mass_lo += m;
        lo = mid;
      }
    }
    // v[hi − 1] is the last token in; keep everything ranked at or above it, in the order the
    // candidates came (token ids, or the top-k order).
    const std::pair<double, int32_t> last_in = v[hi - 1];
    std::erase_if(probs, [&](const auto& pi) { return before(last_in, pi); });
  }
  if (params_.min_p > 0.0f) {
    double pmax = 0;
    for (const auto& pi : probs) pmax = std::max(pmax, pi.first);
    const double floor = params_.min_p * pmax;
    std::erase_if(probs, [&](const auto& pi) { return pi.first < floor; });
  }
  // Draw in token-id order (independent of how the sets above were found); only the top-k
  // path has its candidates in another order.
  if (use_k)
    std::sort(probs.begin(), probs.end(),
              [](const auto& a, const auto& b) { return a.second < b.second; });
  double mass = 0;
  for (const auto& pi : probs) mass += pi.first;
  const double r = Uniform() * mass;
  double cum = 0;
  for (const auto& [p, id] : probs) {
    cum += p;
    if (r < cum) return id;
  }
  return probs.back().second;
}

}  // namespace seekd::engine
