#include "chat/reasoning.h"

#include <gtest/gtest.h>

namespace seekd::chat {
namespace {

struct Split {
  std::string reasoning, content;
};

// Feeds `text` cut into chunks of `step` bytes.
Split Feed(std::string_view text, size_t step, bool starts_in) {
  ReasoningSplitter s(starts_in);
  Split out;
  for (size_t i = 0; i < text.size(); i += step)
    s.Push(text.substr(i, step), &out.reasoning, &out.content);
  s.Flush(&out.reasoning, &out.content);
  return out;
}

TEST(Reasoning, SplitsTheThinkBlockWhateverTheChunking) {
  const std::string text = "<think>\nLet me add 2 and 2.\n</think>\n\nThe answer is 4.";
  for (size_t step = 1; step <= text.size(); ++step) {
    const Split s = Feed(text, step, false);
    EXPECT_EQ(s.reasoning, "\nLet me add 2 and 2.\n") << step;
    EXPECT_EQ(s.content, "\n\nThe answer is 4.") << step;
  }
}

TEST(Reasoning, TemplateThatOpensThinkInThePrompt) {
  const std::string text = "Hmm, 2+2.</think>Four.";
  for (size_t step = 1; step <= text.size(); ++step) {
    const Split s = Feed(text, step, true);
    EXPECT_EQ(s.reasoning, "Hmm, 2+2.") << step;
    EXPECT_EQ(s.content, "Four.") << step;
  }
  EXPECT_TRUE(PromptOpensReasoning("<｜Assistant｜><think>\n"));
  EXPECT_FALSE(PromptOpensReasoning("<think>x</think>answer<｜Assistant｜>"));
  EXPECT_FALSE(PromptOpensReasoning("<｜Assistant｜>"));
}

TEST(Reasoning, ThinkAfterTheAnswerStartedIsContentAndUnclosedReasoningStaysReasoning) {
  const Split a = Feed("Sure. <think>not a block</think>", 3, false);
  EXPECT_EQ(a.reasoning, "");
  EXPECT_EQ(a.content, "Sure. <think>not a block</think>");
  const Split b = Feed("<think>still thinking when cut off", 4, false);
  EXPECT_EQ(b.reasoning, "still thinking when cut off");
  EXPECT_EQ(b.content, "");
  const Split c = Feed("<thin", 2, false);  // a partial tag at the end is plain content
  EXPECT_EQ(c.content, "<thin");
  const Split d = Feed("no reasoning at all", 5, false);
  EXPECT_EQ(d.content, "no reasoning at all");
}

}  // namespace
}  // namespace seekd::chat
