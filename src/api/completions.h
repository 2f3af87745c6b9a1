// The typed side of the wire for callers: requests built as the server's own types
// (ChatRequest, CompletionRequest) serialized to the JSON the API takes, and responses parsed
// into ChatCompletion. Parsing ToJson(r) with ParseChatRequest gives r back, so the client and
// the server cannot drift apart on a field.
//
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "api/chat_stream.h"
#include "api/requests.h"
#include "api/responses.h"

namespace seekd::api {

nlohmann::ordered_json ToJson(const ChatRequest& r);
nlohmann::ordered_json ToJson(const CompletionRequest& r);

// A chat.completion or text_completion response. A text completion's `text` is the choice's
// content. `logprobs` per choice stays JSON (its shape differs between the two endpoints).
struct ChatCompletion {
  std::string id, object, model, system_fingerprint;
  int64_t created = 0;
  std::vector<StreamedChoice> choices;   // role, content, reasoning_content, tool_calls, finish
  std::vector<nlohmann::json> logprobs;  // per choice; null when not asked for
  std::optional<Usage> usage;
  int64_t prompt_cache_hit_tokens = 0, prompt_cache_miss_tokens = 0;  // DeepSeek's fields
};

// Refuses (as a malformed-response error) anything that is not an object with a choices list;
// an `error` object comes back as that error.
ApiResult<ChatCompletion> ParseChatCompletion(const nlohmann::json& j);

// The same shape from a finished stream.
ChatCompletion FromStream(const ChatStreamAccumulator& acc);

// usage: prompt/completion tokens, cached tokens (prompt_tokens_details.cached_tokens or
// DeepSeek's prompt_cache_hit_tokens) and reasoning tokens.
Usage ParseUsage(const nlohmann::json& usage);

}  // namespace seekd::api
