// Single-sequence generation: chunked prefill, then decode one token per step with a Sampler,
// until a stop token, max_tokens, the context end or the caller says stop. It is what `seekd
// run` and `bench-model` use; the serving engine (continuous batching, paged KV) builds on the
// same Forward.
//
// Thread-safety: one Generator per thread of control; it drives the compute pool it is given.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "engine/sampler.h"
#include "model/forward.h"
#include "tokenizer/tokenizer.h"

namespace seekd::engine {

struct GenerateRequest {
  std::vector<int32_t> prompt;
  int32_t max_tokens = 256;
  SamplingParams sampling;
  std::vector<int32_t> stop_tokens;  // generation ends after emitting one (it is reported)
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated, stop token included
  std::string finish_reason;    // stop | length | cancelled
  double prefill_seconds = 0, decode_seconds = 0;
  int64_t decode_steps = 0;  // forward passes after the prefill
};

// The end-of-turn tokens a chat model emits: eos plus the known end markers its vocabulary has
// (<|eot_id|>, <|im_end|>, <|endoftext|>, <｜end▁of▁sentence｜>, …).
std::vector<int32_t> DefaultStopTokens(const tok::Tokenizer& tok);

class Generator {
 public:
  Generator(const model::Llm& llm, ThreadPool& pool, int64_t n_ctx,
            const kernels::Kernels& k = kernels::Active());

  int64_t n_ctx() const { return kv_.capacity(); }
  // Tokens per prefill forward pass (bounds the activation buffers).
  void set_prefill_chunk(int64_t n) { prefill_chunk_ = n; }

  // on_token(token) runs after each sampled token; returning false stops with "cancelled".
  // A prompt that does not fit the context (leaving room for one token) is an OutOfRange error
  // that names the limit.
  Result<GenerateResult> Generate(const GenerateRequest& req,
                                  const std::function<bool(int32_t)>& on_token);

  // Runs only the prompt (for benchmarks): returns its seconds.
  Result<double> Prefill(const std::vector<int32_t>& prompt, std::vector<float>* last_logits);

 private:
  model::Forward fwd_;
  model::ContiguousKv kv_;
  int64_t prefill_chunk_ = 512;
};

}  // namespace seekd::engine
