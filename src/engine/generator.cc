#include "engine/generator.h"

#include <algorithm>
#include <chrono>

namespace seekd::engine {

namespace {
double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}
}  // namespace

std::vector<int32_t> DefaultStopTokens(const tok::Tokenizer& tok) {
  std::vector<int32_t> out;
  if (tok.eos_id() >= 0) out.push_back(tok.eos_id());
  for (const char* text : {"<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<|endoftext|>",
                           "<|end_of_text|>", "<｜end▁of▁sentence｜>", "<|EOT|>"}) {
    const int32_t id = tok.FindToken(text);
    if (id >= 0 && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

Generator::Generator(const model::Llm& llm, ThreadPool& pool, int64_t n_ctx,
                     const kernels::Kernels& k)
    : fwd_(llm, pool, k), kv_(llm.config(), n_ctx) {}

Result<double> Generator::Prefill(const std::vector<int32_t>& prompt,
                                  std::vector<float>* last_logits) {
  const int64_t n = static_cast<int64_t>(prompt.size());
  if (n == 0) return InvalidArgument("the prompt is empty");
  if (n >= kv_.capacity())
    return OutOfRange("the prompt has " + std::to_string(n) + " tokens; the context holds " +
                      std::to_string(kv_.capacity()) + " (prompt plus at least one new token)");
  const auto start = std::chrono::steady_clock::now();
  model::KvStore* seqs[] = {&kv_};
  std::vector<model::BatchToken> batch;
  for (int64_t begin = 0; begin < n; begin += prefill_chunk_) {
    const int64_t end = std::min(n, begin + prefill_chunk_);
    batch.clear();
    for (int64_t i = begin; i < end; ++i)
      batch.push_back({prompt[static_cast<size_t>(i)], i, 0, i == n - 1});
    SEEKD_RETURN_IF_ERROR(fwd_.Run(batch, seqs, last_logits));
  }
  return Seconds(start);
}

Result<GenerateResult> Generator::Generate(const GenerateRequest& req,
                                           const std::function<bool(int32_t)>& on_token) {
  SEEKD_RETURN_IF_ERROR(ValidateSampling(req.sampling, fwd_.llm().config().n_vocab));
  GenerateResult res;
  std::vector<float> logits;
  SEEKD_ASSIGN_OR_RETURN(res.prefill_seconds, Prefill(req.prompt, &logits));
  Sampler sampler(req.sampling, req.prompt);
  model::KvStore* seqs[] = {&kv_};
  int64_t pos = static_cast<int64_t>(req.prompt.size());
  const auto start = std::chrono::steady_clock::now();
  res.finish_reason = "length";
  for (int32_t i = 0; i < req.max_tokens; ++i) {
    const int32_t next = sampler.Sample(logits);
    sampler.Accept(next);
    res.tokens.push_back(next);
    if (!on_token(next)) {
      res.finish_reason = "cancelled";
      break;
    }
    if (std::find(req.stop_tokens.begin(), req.stop_tokens.end(), next) != req.stop_tokens.end()) {
      res.finish_reason = "stop";
      break;
    }
    if (i + 1 == req.max_tokens || pos >= kv_.capacity()) break;  // length
    const model::BatchToken bt{next, pos++, 0, true};
    SEEKD_RETURN_IF_ERROR(fwd_.Run({&bt, 1}, seqs, &logits));
    ++res.decode_steps;
  }
  res.decode_seconds = Seconds(start);
  return res;
}

}  // namespace seekd::engine
