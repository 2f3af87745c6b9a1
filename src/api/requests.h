// Request bodies of the OpenAI/DeepSeek API, parsed and validated. Unknown fields are ignored
// (as OpenAI does); a known field of the wrong type or out of range is a 422 that names it;
// a body that is not JSON, is nested too deeply, or lacks a required field is a 400.
//
// Thread-safety: pure functions over values.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "api/errors.h"

namespace seekd::api {

template <typename T>
using ApiResult = std::variant<T, ApiError>;

inline constexpr int kMaxJsonDepth = 64;

// Parses a body into JSON: rejects invalid JSON (incl. invalid UTF-8), nesting deeper than
// kMaxJsonDepth, and anything but an object. Objects keep their key order.
ApiResult<nlohmann::ordered_json> ParseBody(std::string_view body);

// Fields shared by chat and text completions.
struct GenerationFields {
  std::string model;
  std::optional<int64_t> max_tokens;  // max_tokens or max_completion_tokens
  std::optional<double> temperature, top_p, min_p;
  std::optional<double> frequency_penalty, presence_penalty, repetition_penalty;
  std::optional<int64_t> top_k;
  std::optional<uint64_t> seed;
  std::vector<std::pair<int32_t, float>> logit_bias;
  std::vector<std::string> stop;
  int32_t n = 1;
  bool stream = false, include_usage = false;
  int32_t logprobs = -1;  // -1 off; k ≥ 0: the chosen token and k alternatives
  std::string user;
  bool ignore_eos = false;  // vLLM's extension, for benchmarks: generate exactly max_tokens
};

enum class ResponseFormat { kText, kJsonObject, kJsonSchema };

// (clang-tidy sees json members' constructors as throwing; their default construction does not.)
struct ChatRequest {  // NOLINT(bugprone-exception-escape)
  GenerationFields gen;
  nlohmann::ordered_json messages;  // validated: roles, contents as strings or text parts
  ResponseFormat response_format = ResponseFormat::kText;
  nlohmann::ordered_json json_schema;  // response_format.json_schema.schema
  std::optional<nlohmann::ordered_json> tools;
  nlohmann::ordered_json tool_choice;  // "auto" (default) | "none" | "required" | {function}
  bool thinking = false;               // chat_template_kwargs.thinking / enable_thinking
};

struct CompletionRequest {
  GenerationFields gen;
  // One prompt per entry: text, or token ids when the client sent ids.
  std::vector<std::variant<std::string, std::vector<int32_t>>> prompts;
  std::optional<std::string> suffix;  // fill-in-the-middle
  bool echo = false;
};

// A member that is a string (or a bool), else the fallback: absent and wrongly typed members
// read the same, and nothing throws (json::value() would, on a type mismatch).
std::string StringField(const nlohmann::ordered_json& j, const char* key,
                        const std::string& fallback = "");
bool BoolField(const nlohmann::ordered_json& j, const char* key, bool fallback);

// header_model: the DeepSeek-Model header, used when the body names no model.
ApiResult<ChatRequest> ParseChatRequest(const nlohmann::ordered_json& body,
                                        const std::string& header_model = "");
ApiResult<CompletionRequest> ParseCompletionRequest(const nlohmann::ordered_json& body,
                                                    const std::string& header_model = "");

}  // namespace seekd::api
