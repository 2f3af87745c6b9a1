// bench-engine's steady decode rate (cli/decode_rate.h) on hand-made token timelines.
#include "cli/decode_rate.h"

#include <gtest/gtest.h>

namespace seekd::cli {
namespace {

TEST(SteadyDecodeRate, OneStreamIsTheReciprocalOfItsTimePerToken) {
  const SteadyDecode r = SteadyDecodeRate({{1.0, 1.1, 1.2, 1.3, 1.5}});
  EXPECT_EQ(r.tokens, 4);
  EXPECT_DOUBLE_EQ(r.window_s, 0.5);
  EXPECT_DOUBLE_EQ(r.tokens_per_s, 8.0);
}

TEST(SteadyDecodeRate, LeavesOutPrefillOfOthersAndTheTail) {
  // Stream a decodes from t = 1 at 0.1 s a step; stream b's prefill stalls one step (1.3 → 1.8),
  // then both decode at 0.1 s a step until a finishes at 2.2; b runs on alone, faster.
  const std::vector<double> a = {1.0, 1.1, 1.2, 1.3, 1.8, 1.9, 2.0, 2.1, 2.2};
  const std::vector<double> b = {1.8, 1.9, 2.0, 2.1, 2.2, 2.25, 2.3};
  const SteadyDecode r = SteadyDecodeRate({a, b});
  // Window (1.8, 2.2]: four steps, two tokens each.
  EXPECT_EQ(r.tokens, 8);
  EXPECT_NEAR(r.window_s, 0.4, 1e-12);
  EXPECT_NEAR(r.tokens_per_s, 20.0, 1e-9);
  // Σ 1 / TPOT over the streams counts a's stall: 8 / 1.2 + 6 / 0.5 = 18.67 tokens/s.
}

TEST(SteadyDecodeRate, EmptyWindows) {
  EXPECT_EQ(SteadyDecodeRate({}).tokens_per_s, 0);
  EXPECT_EQ(SteadyDecodeRate({{1.0}}).tokens_per_s, 0);                   // one token: no interval
  EXPECT_EQ(SteadyDecodeRate({{1.0, 1.1}, {}}).tokens_per_s, 0);          // a stream with none
  EXPECT_EQ(SteadyDecodeRate({{1.0, 1.1}, {1.2, 1.3}}).tokens_per_s, 0);  // never side by side
}

}  // namespace
}  // namespace seekd::cli
