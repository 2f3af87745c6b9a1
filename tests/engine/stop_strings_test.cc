#include "engine/stop_strings.h"

#include <gtest/gtest.h>

namespace seekd::engine {
namespace {

struct Out {
  std::string text;
  bool stopped = false;
  std::string matched;
};

// Feeds `text` in pieces of `step` bytes.
Out Feed(std::vector<std::string> stops, std::string_view text, size_t step) {
  StopMatcher m(std::move(stops));
  Out o;
  for (size_t i = 0; i < text.size() && !o.stopped; i += step)
    o.text += m.Push(text.substr(i, step), &o.stopped);
  if (!o.stopped) o.text += m.Flush();
  o.matched = m.matched();
  return o;
}

TEST(StopMatcher, StopsAcrossEveryPieceBoundaryAndDropsTheStopString) {
  const std::string text = "The answer is 4.\n\nUser: next question";
  for (size_t step = 1; step <= text.size(); ++step) {
    const Out o = Feed({"\n\nUser:"}, text, step);
    EXPECT_TRUE(o.stopped) << step;
    EXPECT_EQ(o.text, "The answer is 4.") << step;
    EXPECT_EQ(o.matched, "\n\nUser:");
  }
}

TEST(StopMatcher, HeldBackTextIsReleasedWhenItIsNotAStop) {
  StopMatcher m({"STOP"});
  bool stopped = false;
  EXPECT_EQ(m.Push("abc ST", &stopped), "abc ");  // "ST" could begin STOP
  EXPECT_FALSE(stopped);
  EXPECT_EQ(m.Push("ART", &stopped), "START");
  EXPECT_EQ(m.Push("S", &stopped), "");
  EXPECT_EQ(m.Flush(), "S");  // the stream ended: a partial stop is plain text
}

TEST(StopMatcher, EarliestStopWinsAndEmptyStopsAreIgnored) {
  for (size_t step = 1; step <= 12; ++step) {
    const Out o = Feed({"", "world", "lo w"}, "hello world!", step);
    EXPECT_TRUE(o.stopped);
    EXPECT_EQ(o.text, "hel") << step;
    EXPECT_EQ(o.matched, "lo w");
  }
  const Out none = Feed({""}, "plain text", 3);
  EXPECT_FALSE(none.stopped);
  EXPECT_EQ(none.text, "plain text");
}

TEST(StopMatcher, MultiByteTextAndNothingAfterTheStop) {
  StopMatcher m({"。"});
  bool stopped = false;
  EXPECT_EQ(m.Push("你好", &stopped), "你好");
  EXPECT_EQ(m.Push("\xe3\x80", &stopped), "");  // the first two bytes of 。
  EXPECT_EQ(m.Push("\x82 more", &stopped), "");
  EXPECT_TRUE(stopped);
  EXPECT_EQ(m.Push("after", &stopped), "");
  EXPECT_TRUE(stopped);
  EXPECT_EQ(m.Flush(), "");
}

}  // namespace
}  // namespace seekd::engine
