// Tool-call parsing: the same result whatever way the model's text is split into pieces.
#include "chat/tool_calls.h"

#include <gtest/gtest.h>

namespace seekd::chat {
namespace {

struct Parsed {
  std::string content;
  std::vector<std::pair<std::string, std::string>> calls;  // name, arguments
  bool operator==(const Parsed&) const = default;
};

Parsed Collect(ToolFormat f, const std::vector<std::string_view>& pieces) {
  ToolCallParser p(f);
  Parsed out;
  std::vector<ToolCallDelta> deltas;
  for (auto piece : pieces) p.Push(piece, &out.content, &deltas);
  p.Flush(&out.content, &deltas);
  for (const auto& d : deltas) {
    if (static_cast<size_t>(d.index) == out.calls.size()) {
      EXPECT_FALSE(d.name.empty());  // a call's first delta names it
      out.calls.emplace_back(d.name, "");
    }
    EXPECT_LT(static_cast<size_t>(d.index), out.calls.size());
    out.calls[static_cast<size_t>(d.index)].second += d.arguments;
  }
  return out;
}

// Whole, split at every byte, and byte by byte: always `want`.
void Check(ToolFormat f, std::string_view text, const Parsed& want) {
  EXPECT_EQ(Collect(f, {text}), want) << text;
  for (size_t i = 1; i < text.size(); ++i)
    ASSERT_EQ(Collect(f, {text.substr(0, i), text.substr(i)}), want) << "split at " << i;
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < text.size(); ++i) bytes.push_back(text.substr(i, 1));
  EXPECT_EQ(Collect(f, bytes), want);
}

TEST(ToolCalls, DeepSeekV3TwoCallsWithFencedArguments) {
  const std::string text =
      "Let me check.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n"
      "```json\n{\"city\": \"Paris\", \"note\": \"`x`\"}\n```<｜tool▁call▁end｜>\n"
      "<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜>"
      "<｜tool▁calls▁end｜>";
  Check(ToolFormat::kDeepSeekV3, text,
        {"Let me check.",
         {{"get_weather", "{\"city\": \"Paris\", \"note\": \"`x`\"}"}, {"get_time", "{}"}}});
}

TEST(ToolCalls, DeepSeekV31CompactCalls) {
  const std::string text =
      "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>search<｜tool▁sep｜>{\"q\": \"a<b\"}"
      "<｜tool▁call▁end｜><｜tool▁call▁begin｜>open<｜tool▁sep｜>{\"id\": 3}<｜tool▁call▁end｜>"
      "<｜tool▁calls▁end｜>";
  Check(ToolFormat::kDeepSeekV31, text,
        {"", {{"search", "{\"q\": \"a<b\"}"}, {"open", "{\"id\": 3}"}}});
}

TEST(ToolCalls, QwenCallsAndTextAround) {
  const std::string text =
      "Sure.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Köln\"}}\n"
      "</tool_call>\n<tool_call>\n{\"name\": \"noop\", \"arguments\": {}}\n</tool_call>";
  Check(ToolFormat::kQwen, text,
        {"Sure.\n\n", {{"get_weather", "{\"city\":\"Köln\"}"}, {"noop", "{}"}}});
}

TEST(ToolCalls, TextThatOnlyLooksLikeAMarkerStaysContent) {
  Check(ToolFormat::kDeepSeekV3, "a <｜tool not a call <｜tool▁calls▁begin｜>plain",
        {"a <｜tool not a call plain", {}});
  Check(ToolFormat::kQwen, "x <tool_call>not json</tool_call> y <tool_",
        {"x <tool_call>not json</tool_call> y <tool_", {}});
  Check(ToolFormat::kNone, "<｜tool▁calls▁begin｜>", {"<｜tool▁calls▁begin｜>", {}});
}

TEST(ToolCalls, UnfinishedCallAtTheEndKeepsItsArguments) {
  Check(ToolFormat::kDeepSeekV31,
        "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{\"a\": 1",
        {"", {{"f", "{\"a\": 1"}}});
}

}  // namespace
}  // namespace seekd::chat
