// Response pieces in the exact OpenAI/DeepSeek shapes: ids, usage with DeepSeek's cache fields,
// logprobs for chat and text completions, SSE framing. The server assembles them.
//
// Thread-safety: NewId is thread-safe; the rest are pure.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seekd::api {

using ojson = nlohmann::ordered_json;

// "chatcmpl-<24 random hex>" style ids.
std::string NewId(std::string_view prefix);
// Serializes with invalid UTF-8 replaced (a model can emit any bytes).
std::string Dump(const ojson& j);
// One SSE event: "data: <json>\n\n".
std::string SseData(const ojson& j);
inline constexpr std::string_view kSseDone = "data: [DONE]\n\n";

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
  int64_t cached_tokens = 0;     // prompt tokens served from the prefix cache
  int64_t reasoning_tokens = 0;  // completion tokens inside <think>…</think>
  ojson ToJson() const;
};

// One generated token's log-probability and its most likely alternatives.
struct TokenLogprob {
  std::string bytes;  // the token's raw bytes (may be part of a UTF-8 character)
  float logprob = 0;
  std::vector<std::pair<std::string, float>> top;  // bytes, logprob
};

// Chat: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}.
ojson ChatLogprobs(const std::vector<TokenLogprob>& tokens);
// Text completions: {"tokens", "token_logprobs", "top_logprobs", "text_offset"}.
ojson CompletionLogprobs(const std::vector<TokenLogprob>& tokens, int64_t first_offset);

}  // namespace seekd::api
