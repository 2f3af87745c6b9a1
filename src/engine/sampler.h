// Turning logits into the next token. One fixed order, applied to the full vocabulary:
//
//   1. logit_bias          logit[t] += bias[t]                      (OpenAI: −100 bans, +100
//   forces)
//   2. repetition_penalty  for t in prompt ∪ generated: logit > 0 ? logit / r : logit · r
//   3. frequency/presence  for t in generated: logit −= count·frequency + presence
//   4. greedy (or temperature 0): the largest logit, ties to the lowest id — stop here
//   5. temperature         logit /= T
//   6. top_k               keep the k largest (ties broken by lower id)
//   7. softmax
//   8. top_p               keep the smallest prefix (by probability, then id) whose mass ≥ p
//   9. min_p               drop tokens with probability < min_p · max probability
//  10. draw                r = uniform [0, 1) from a seeded 64-bit Mersenne Twister, scaled by
//                          the kept mass, walked over the kept tokens in id order
//
// The same seed, logits and history give the same token on every machine: the random stream
// and its conversion to [0, 1) are seekd's own (not the standard library's distributions), and
// every ordering is total.
//
// Thread-safety: a Sampler belongs to one sequence; not shared.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/status.h"

namespace seekd::engine {

struct SamplingParams {
  bool greedy = false;
  float temperature = 1.0f;  // 0 means greedy
  int32_t top_k = 0;         // 0 = off
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off
  float repetition_penalty = 1.0f;
  float presence_penalty = 0.0f;
  float frequency_penalty = 0.0f;
  std::vector<std::pair<int32_t, float>> logit_bias;
  uint64_t seed = 0;
};

// Range checks (the API maps failures to 422 naming the field).
Status ValidateSampling(const SamplingParams& p, int64_t n_vocab);

class Sampler {
 public:
  // prompt: the request's prompt tokens (for the repetition penalty).
  Sampler(SamplingParams params, std::span<const int32_t> prompt);

  // Picks the next token; logits (n_vocab) are modified in place (steps 1–5).
  int32_t Sample(std::span<float> logits);
  // Records a generated token (penalties count it from now on). Sample does not call it, so a
  // caller can also feed forced tokens.
  void Accept(int32_t token);

  const SamplingParams& params() const { return params_; }

  // Steps 1–3 alone, for tests and logprob reporting.
  void ApplyPenalties(std::span<float> logits) const;

 private:
  double Uniform();  // [0, 1), 53 random bits

  SamplingParams params_;
  std::mt19937_64 rng_;
  std::unordered_map<int32_t, int32_t> generated_;  // token → count
  std::vector<int32_t> context_;                    // distinct prompt ∪ generated tokens
  std::vector<uint8_t> in_context_;                 // by token id, grown on demand
  std::vector<std::pair<float, int32_t>> cand_;     // scratch
};

}  // namespace seekd::engine
