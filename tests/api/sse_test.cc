// SSE parsing and stream reassembly: the spec's field rules, and the same events and the same
// assembled message whatever way the bytes are split.
#include "api/sse.h"

#include <gtest/gtest.h>

#include "api/chat_stream.h"

namespace seekd::api {
namespace {

std::vector<SseEvent> ParseAll(const std::vector<std::string_view>& pieces) {
  SseParser p;
  std::vector<SseEvent> out;
  for (auto piece : pieces) {
    auto e = p.Feed(piece);
    out.insert(out.end(), e.begin(), e.end());
  }
  p.Finish();
  return out;
}

std::string Show(const std::vector<SseEvent>& events) {
  std::string s;
  for (const auto& e : events)
    s += "[" + e.event + "|" + e.data + "|" + e.id + "|" +
         (e.retry ? std::to_string(*e.retry) : "-") + "]";
  return s;
}

TEST(Sse, FieldsAsTheSpecDescribes) {
  const std::string stream =
      "\xEF\xBB\xBF: a comment\n"
      "data: YHOO\ndata: +2\ndata: 10\n\n"
      "event: update\nid: 7\ndata:no-space\n\n"
      "data\n\n"  // a field with no colon: empty data
      "retry: 1500\ndata: x\n\n"
      "retry: 15x\ndata: y\n\n"  // not digits: ignored
      "unknown: z\n\n"           // no data: nothing dispatched
      "data: crlf\r\n\r\n"
      "data: cr\r\r"
      "data: unfinished";  // no blank line at the end: dropped
  SseParser p;
  const auto events = p.Feed(stream);
  EXPECT_EQ(Show(events),
            "[message|YHOO\n+2\n10||-][update|no-space|7|-][message||7|-][message|x|7|1500]"
            "[message|y|7|-][message|crlf|7|-][message|cr|7|-]");
  EXPECT_EQ(p.comments(), 1);
}

TEST(Sse, EverySplitGivesTheSameEvents) {
  const std::string stream =
      "data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\n"
      ": keep-alive\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"h\xC3\xA9llo\"}}]}\n\n"
      "event: ping\ndata: 1\rdata: 2\r\r"
      "data: [DONE]\n\n";
  const std::string want = Show(ParseAll({stream}));
  EXPECT_EQ(ParseAll({stream}).size(), 4u);
  for (size_t i = 0; i <= stream.size(); ++i) {
    const std::string_view s(stream);
    ASSERT_EQ(Show(ParseAll({s.substr(0, i), s.substr(i)})), want) << "split at " << i;
  }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < stream.size(); ++i) bytes.push_back(std::string_view(stream).substr(i, 1));
  EXPECT_EQ(Show(ParseAll(bytes)), want);
}

// A chat stream the way seekd (and OpenAI/DeepSeek) send it.
const char* kChat =
    "data: "
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"model\":\"m\",\"choices\":[{"
    "\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null},{"
    "\"index\":1,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    ": keep-alive\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":null,\"reasoning_"
    "content\":\"Think\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi "
    "\"},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"id\":\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get\",\"arguments\":\"\"}}]},"
    "\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"{\\\"q\\\": \"}}]},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":1,\"delta\":{\"tool_calls\":[{\"index\":0,"
    "\"function\":{\"arguments\":\"1}\"}}]},\"finish_reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"there\"},\"finish_"
    "reason\":null}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
    "\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":1,\"delta\":{},\"finish_reason\":\"tool_"
    "calls\"}]}\n\n"
    "data: "
    "{\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":6}}"
    "\n\n"
    "data: [DONE]\n\n";

ChatStreamAccumulator Assemble(const std::vector<std::string_view>& pieces) {
  SseParser p;
  ChatStreamAccumulator acc;
  for (auto piece : pieces)
    for (const auto& e : p.Feed(piece)) acc.Add(e.data);
  return acc;
}

TEST(ChatStream, AssemblesContentReasoningToolCallsAndUsage) {
  const auto acc = Assemble({kChat});
  ASSERT_TRUE(acc.done());
  EXPECT_FALSE(acc.error());
  EXPECT_EQ(acc.id(), "chatcmpl-1");
  EXPECT_EQ(acc.model(), "m");
  ASSERT_EQ(acc.choices().size(), 2u);
  const auto& a = acc.choices()[0];
  EXPECT_EQ(a.role, "assistant");
  EXPECT_EQ(a.content, "Hi there");
  EXPECT_EQ(a.reasoning_content, "Think");
  EXPECT_EQ(a.finish_reason, "stop");
  const auto& b = acc.choices()[1];
  ASSERT_EQ(b.tool_calls.size(), 1u);
  EXPECT_EQ(b.tool_calls[0].id, "call_a");
  EXPECT_EQ(b.tool_calls[0].name, "get");
  EXPECT_EQ(b.tool_calls[0].arguments, "{\"q\": 1}");
  EXPECT_EQ(b.finish_reason, "tool_calls");
  ASSERT_TRUE(acc.usage());
  EXPECT_EQ((*acc.usage())["completion_tokens"], 6);
  // Split anywhere: the same message.
  const std::string_view s(kChat);
  for (size_t i = 0; i <= s.size(); i += 7) {
    const auto again = Assemble({s.substr(0, i), s.substr(i)});
    ASSERT_EQ(again.choices()[0].content, a.content) << i;
    ASSERT_EQ(again.choices()[1].tool_calls[0].arguments, b.tool_calls[0].arguments) << i;
  }
}

TEST(ChatStream, ErrorEventsAndMalformedPayloads) {
  ChatStreamAccumulator acc;
  acc.Add(
      R"({"error": {"message": "The server is shutting down", "type": "server_overloaded", "param": null, "code": "overloaded"}})");
  ASSERT_TRUE(acc.error());
  EXPECT_EQ(acc.error()->code, "overloaded");
  EXPECT_EQ(acc.error()->message, "The server is shutting down");
  ChatStreamAccumulator bad;
  EXPECT_TRUE(bad.Add("{not json").empty());
  EXPECT_EQ(bad.error()->code, "malformed_stream");
  // Hostile shapes are skipped, not trusted.
  ChatStreamAccumulator odd;
  odd.Add(
      R"({"choices": [{"index": -1}, {"index": 99999999}, {"index": "0"}, 7, {"index": 0, "delta": {"tool_calls": [{"index": 1e9}]}}]})");
  EXPECT_EQ(odd.choices().size(), 1u);
  EXPECT_TRUE(odd.choices()[0].tool_calls.empty());
}

}  // namespace
}  // namespace seekd::api
