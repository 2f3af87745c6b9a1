// Retry rules: which outcomes retry, how long to wait, and that a started stream never retries.
#include "client/retry.h"

#include <gtest/gtest.h>

namespace seekd::client {
namespace {

using Clock = std::chrono::system_clock;

TEST(Retry, StatusesHeadersAndStartedStreams) {
  for (int s : {0, 408, 409, 429, 500, 502, 503, 504, 529})
    EXPECT_TRUE(ShouldRetry(s, {}, false)) << s;
  for (int s : {200, 400, 401, 402, 403, 404, 413, 422})
    EXPECT_FALSE(ShouldRetry(s, {}, false)) << s;
  EXPECT_FALSE(ShouldRetry(503, {{"X-Should-Retry", "false"}}, false));
  EXPECT_TRUE(ShouldRetry(400, {{"x-should-retry", " true "}}, false));
  EXPECT_FALSE(ShouldRetry(503, {{"x-should-retry", "true"}}, true));  // bytes already streamed
  EXPECT_FALSE(ShouldRetry(0, {}, true));
}

TEST(Retry, ServerRequestedDelays) {
  const auto now = Clock::from_time_t(1'800'000'000);
  EXPECT_DOUBLE_EQ(*RetryAfter({{"retry-after-ms", "250"}}, now), 0.25);
  EXPECT_DOUBLE_EQ(*RetryAfter({{"Retry-After", "3"}}, now), 3.0);
  // retry-after-ms wins over Retry-After.
  EXPECT_DOUBLE_EQ(*RetryAfter({{"Retry-After", "3"}, {"retry-after-ms", "1500"}}, now), 1.5);
  // HTTP dates in all three forms, 2 s after `now` (Fri, 15 Jan 2027 08:00:00 GMT + 2 s).
  const auto base = *ParseHttpDate("Fri, 15 Jan 2027 08:00:00 GMT");
  EXPECT_EQ(Clock::to_time_t(base), 1800000000);  // date -u -d @1800000000
  for (const char* d : {"Fri, 15 Jan 2027 08:00:02 GMT", "Friday, 15-Jan-27 08:00:02 GMT",
                        "Fri Jan 15 08:00:02 2027"})
    EXPECT_DOUBLE_EQ(*RetryAfter({{"retry-after", d}}, base), 2.0) << d;
  // Past, zero, too long, or unreadable: nothing (the backoff applies).
  EXPECT_FALSE(RetryAfter({{"retry-after", "Fri, 15 Jan 2027 07:59:00 GMT"}}, base));
  EXPECT_FALSE(RetryAfter({{"retry-after", "0"}}, now));
  EXPECT_FALSE(RetryAfter({{"retry-after", "61"}}, now));
  EXPECT_FALSE(RetryAfter({{"retry-after", "-5"}}, now));
  EXPECT_FALSE(RetryAfter({{"retry-after", "soon"}}, now));
  EXPECT_FALSE(RetryAfter({{"retry-after-ms", "1e3"}}, now));
  EXPECT_FALSE(RetryAfter({}, now));
}

TEST(Retry, ExponentialBackoffWithBoundedJitter) {
  RetryPolicy p;
  EXPECT_DOUBLE_EQ(BackoffDelay(p, 0, 0.0), 0.5);
  EXPECT_DOUBLE_EQ(BackoffDelay(p, 1, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(BackoffDelay(p, 3, 0.0), 4.0);
  EXPECT_DOUBLE_EQ(BackoffDelay(p, 10, 0.0), 8.0);  // capped
  EXPECT_DOUBLE_EQ(BackoffDelay(p, 1, 0.999999), 0.75 + 0.25 * 1e-6 * 1.0);
  for (int r = 0; r < 6; ++r)
    for (double j : {0.0, 0.3, 0.7, 0.99}) {
      const double d = BackoffDelay(p, r, j);
      const double full = std::min(0.5 * (1 << r), 8.0);
      EXPECT_LE(d, full);
      EXPECT_GE(d, 0.75 * full);
    }
  const auto now = Clock::now();
  EXPECT_DOUBLE_EQ(RetryDelay(p, 0, {{"retry-after", "2"}}, now, 0.5), 2.0);
  EXPECT_DOUBLE_EQ(RetryDelay(p, 0, {{"retry-after", "600"}}, now, 0.0), 0.5);
}

}  // namespace
}  // namespace seekd::client
