// Typed requests and responses: ToJson of a parsed request parses back to the same request
// (the client cannot send what the server would read differently), and responses in the
// OpenAI/DeepSeek shapes parse into ChatCompletion.
#include "api/completions.h"

#include <gtest/gtest.h>

namespace seekd::api {
namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

TEST(Completions, ChatRequestRoundTrips) {
  const ojson body = ojson::parse(R"({
    "model": "r1", "messages": [{"role": "system", "content": "Be brief."},
                                 {"role": "user", "content": [{"type": "text", "text": "Hi"}]}],
    "max_completion_tokens": 77, "temperature": 0.7, "top_p": 0.9, "top_k": 40, "min_p": 0.05,
    "frequency_penalty": 0.5, "presence_penalty": -0.5, "repetition_penalty": 1.1,
    "seed": 12345, "logit_bias": {"42": -100, "7": 5.5}, "stop": ["\n\n", "END"], "n": 3,
    "stream": true, "stream_options": {"include_usage": true},
    "logprobs": true, "top_logprobs": 4, "user": "u-1",
    "response_format": {"type": "json_schema",
                        "json_schema": {"name": "x", "schema": {"type": "object"}}},
    "tools": [{"type": "function", "function": {"name": "get_weather",
               "parameters": {"type": "object"}}}],
    "tool_choice": "required", "chat_template_kwargs": {"thinking": true}})");
  auto first = ParseChatRequest(body);
  ASSERT_TRUE(std::holds_alternative<ChatRequest>(first));
  const ChatRequest& a = std::get<ChatRequest>(first);
  const ojson wire = ToJson(a);
  auto second = ParseChatRequest(wire);
  ASSERT_TRUE(std::holds_alternative<ChatRequest>(second)) << wire.dump();
  const ChatRequest& b = std::get<ChatRequest>(second);
  EXPECT_EQ(ToJson(b), wire);  // a fixed point
  EXPECT_EQ(b.gen.max_tokens, 77);
  EXPECT_EQ(b.gen.temperature, 0.7);
  EXPECT_EQ(b.gen.top_k, 40);
  EXPECT_EQ(b.gen.seed, 12345u);
  EXPECT_EQ(b.gen.logit_bias, a.gen.logit_bias);
  EXPECT_EQ(b.gen.stop, (std::vector<std::string>{"\n\n", "END"}));
  EXPECT_EQ(b.gen.n, 3);
  EXPECT_TRUE(b.gen.stream && b.gen.include_usage);
  EXPECT_EQ(b.gen.logprobs, 4);
  EXPECT_EQ(b.gen.user, "u-1");
  EXPECT_EQ(b.response_format, ResponseFormat::kJsonSchema);
  EXPECT_EQ(b.json_schema, a.json_schema);
  EXPECT_EQ(b.tools, a.tools);
  EXPECT_EQ(b.tool_choice, "required");
  EXPECT_TRUE(b.thinking);
  EXPECT_EQ(b.messages, a.messages);
  // Defaults stay defaults: nothing is written that the user did not set.
  auto plain =
      ParseChatRequest(ojson::parse(R"({"model":"m","messages":[{"role":"user","content":"x"}]})"));
  const ojson w = ToJson(std::get<ChatRequest>(plain));
  EXPECT_EQ(w, ojson::parse(
                   R"({"model":"m","stream":false,"messages":[{"role":"user","content":"x"}]})"));
}

TEST(Completions, CompletionRequestRoundTrips) {
  const ojson body = ojson::parse(R"({"model": "coder", "prompt": ["def f(", [1, 2, 3]],
    "suffix": "return x", "echo": true, "logprobs": 2, "max_tokens": 9, "stop": "\n"})");
  auto first = ParseCompletionRequest(body);
  ASSERT_TRUE(std::holds_alternative<CompletionRequest>(first));
  const ojson wire = ToJson(std::get<CompletionRequest>(first));
  auto second = ParseCompletionRequest(wire);
  ASSERT_TRUE(std::holds_alternative<CompletionRequest>(second)) << wire.dump();
  const CompletionRequest& b = std::get<CompletionRequest>(second);
  EXPECT_EQ(ToJson(b), wire);
  ASSERT_EQ(b.prompts.size(), 2u);
  EXPECT_EQ(std::get<std::string>(b.prompts[0]), "def f(");
  EXPECT_EQ(std::get<std::vector<int32_t>>(b.prompts[1]), (std::vector<int32_t>{1, 2, 3}));
  EXPECT_EQ(b.suffix, "return x");
  EXPECT_TRUE(b.echo);
  EXPECT_EQ(b.gen.logprobs, 2);
  EXPECT_EQ(b.gen.stop, std::vector<std::string>{"\n"});
}

TEST(Completions, ParsesADeepSeekReasonerResponse) {
  // The shape DeepSeek's API documents for deepseek-reasoner, with a tool call.
  const json j = json::parse(R"({
    "id": "930c60df-bf64-41c9-a88e-3ec75f81e00e", "object": "chat.completion",
    "created": 1705651092, "model": "deepseek-reasoner", "system_fingerprint": "fp_a49d71b8a1",
    "choices": [{"index": 0, "finish_reason": "tool_calls", "logprobs": null,
      "message": {"role": "assistant", "content": "", "reasoning_content": "The user wants...",
        "tool_calls": [{"id": "call_0", "type": "function",
          "function": {"name": "get_weather", "arguments": "{\"city\":\"Hangzhou\"}"}}]}}],
    "usage": {"prompt_tokens": 16, "completion_tokens": 10, "total_tokens": 26,
      "prompt_tokens_details": {"cached_tokens": 0},
      "completion_tokens_details": {"reasoning_tokens": 7},
      "prompt_cache_hit_tokens": 0, "prompt_cache_miss_tokens": 16}})");
  auto r = ParseChatCompletion(j);
  ASSERT_TRUE(std::holds_alternative<ChatCompletion>(r));
  const ChatCompletion& c = std::get<ChatCompletion>(r);
  EXPECT_EQ(c.model, "deepseek-reasoner");
  EXPECT_EQ(c.created, 1705651092);
  EXPECT_EQ(c.system_fingerprint, "fp_a49d71b8a1");
  ASSERT_EQ(c.choices.size(), 1u);
  EXPECT_EQ(c.choices[0].finish_reason, "tool_calls");
  EXPECT_EQ(c.choices[0].reasoning_content, "The user wants...");
  ASSERT_EQ(c.choices[0].tool_calls.size(), 1u);
  EXPECT_EQ(c.choices[0].tool_calls[0].name, "get_weather");
  EXPECT_EQ(c.choices[0].tool_calls[0].arguments, "{\"city\":\"Hangzhou\"}");
  ASSERT_TRUE(c.usage.has_value());
  EXPECT_EQ(c.usage->prompt_tokens, 16);
  EXPECT_EQ(c.usage->completion_tokens, 10);
  EXPECT_EQ(c.usage->reasoning_tokens, 7);
  EXPECT_EQ(c.prompt_cache_miss_tokens, 16);
}

TEST(Completions, TextCompletionsAndBadResponses) {
  auto t = ParseChatCompletion(json::parse(
      R"({"id":"c","object":"text_completion","choices":[{"index":1,"text":"b","finish_reason":"length"},{"index":0,"text":"a","finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"prompt_cache_hit_tokens":2}})"));
  ASSERT_TRUE(std::holds_alternative<ChatCompletion>(t));
  const ChatCompletion& c = std::get<ChatCompletion>(t);
  ASSERT_EQ(c.choices.size(), 2u);
  EXPECT_EQ(c.choices[0].content, "a");
  EXPECT_EQ(c.choices[1].content, "b");
  EXPECT_EQ(c.usage->cached_tokens, 2);
  for (const char* bad : {R"([])", R"({"id":"x"})", R"({"choices":{}})", R"({"choices":[1]})",
                          R"({"choices":[{"index":-1}]})", R"({"choices":[{"index":99999}]})"}) {
    auto r = ParseChatCompletion(json::parse(bad));
    ASSERT_TRUE(std::holds_alternative<ApiError>(r)) << bad;
    EXPECT_EQ(std::get<ApiError>(r).code, "malformed_response") << bad;
  }
  auto e = ParseChatCompletion(json::parse(
      R"({"error":{"message":"nope","type":"invalid_request_error","code":"model_not_found"}})"));
  ASSERT_TRUE(std::holds_alternative<ApiError>(e));
  EXPECT_EQ(std::get<ApiError>(e).code, "model_not_found");
}

TEST(Completions, FromAStream) {
  ChatStreamAccumulator acc;
  acc.Add(
      R"({"id":"s","model":"m","choices":[{"index":0,"delta":{"role":"assistant","reasoning_content":"think"}}]})");
  acc.Add(
      R"({"id":"s","model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"stop"}]})");
  acc.Add(
      R"({"id":"s","model":"m","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":2,"prompt_cache_hit_tokens":4,"prompt_cache_miss_tokens":1}})");
  acc.Add("[DONE]");
  const ChatCompletion c = FromStream(acc);
  EXPECT_EQ(c.id, "s");
  ASSERT_EQ(c.choices.size(), 1u);
  EXPECT_EQ(c.choices[0].content, "Hi");
  EXPECT_EQ(c.choices[0].reasoning_content, "think");
  EXPECT_EQ(c.prompt_cache_hit_tokens, 4);
  EXPECT_EQ(c.usage->cached_tokens, 4);
}

}  // namespace
}  // namespace seekd::api
