// The per-caller token bucket with a fake clock: a minute's worth at once, even refill,
// callers apart, the Retry-After it computes, and the bounded table.
#include "server/rate_limit.h"

#include <gtest/gtest.h>

namespace seekd::server {
namespace {

using std::chrono::milliseconds;

TEST(RateLimiter, BurstThenEvenRefill) {
  RateLimiter l(60);  // one per second, 60 at once
  const auto t0 = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(l.Take("a", t0).ok) << i;
  const auto no = l.Take("a", t0);
  EXPECT_FALSE(no.ok);
  EXPECT_NEAR(no.retry_after_s, 1.0, 1e-9);
  EXPECT_FALSE(l.Take("a", t0 + milliseconds(500)).ok);
  EXPECT_NEAR(l.Take("a", t0 + milliseconds(500)).retry_after_s, 0.5, 1e-9);
  EXPECT_TRUE(l.Take("a", t0 + milliseconds(1000)).ok);
  EXPECT_FALSE(l.Take("a", t0 + milliseconds(1000)).ok);
  // Another caller has its own bucket.
  EXPECT_TRUE(l.Take("b", t0).ok);
  // A long pause refills to a minute's worth, not more.
  const auto later = t0 + std::chrono::hours(2);
  int n = 0;
  while (l.Take("a", later).ok) ++n;
  EXPECT_EQ(n, 60);
}

TEST(RateLimiter, OffAndBounded) {
  RateLimiter off(0);
  EXPECT_FALSE(off.enabled());
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(off.Take("x", RateLimiter::Clock::now()).ok);
  RateLimiter small(6, 2);  // two callers at most
  const auto t = RateLimiter::Clock::time_point{} + std::chrono::hours(1);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(small.Take("a", t).ok);
  EXPECT_FALSE(small.Take("a", t).ok);
  EXPECT_TRUE(small.Take("b", t).ok);
  // A third caller: no bucket is full again yet, so one is dropped to make room.
  EXPECT_TRUE(small.Take("c", t).ok);
  // Fractional limits work (one request per 20 s).
  RateLimiter slow(3);
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(slow.Take("a", t).ok);
  EXPECT_NEAR(slow.Take("a", t).retry_after_s, 20.0, 1e-9);
}

}  // namespace
}  // namespace seekd::server
