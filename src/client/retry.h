// When and how long a client waits before trying a request again — the rules the official
// OpenAI SDKs follow, so seekd's client behaves the way backends already expect:
//   - retry connection errors, timeouts, 408, 409, 429 and every 5xx;
//   - a response's `x-should-retry: true|false` overrides the status;
//   - never retry once a stream has delivered its first byte;
//   - wait what the server asks (`retry-after-ms`, else `Retry-After` in seconds or as an
//     HTTP date) when that is above 0 and at most 60 s, else exponential backoff:
//     min(0.5 s · 2^attempt, 8 s), reduced by up to 25% of jitter.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace seekd::client {

using Headers = std::vector<std::pair<std::string, std::string>>;  // names any case

struct RetryPolicy {
  int max_retries = 2;
  double initial_delay_s = 0.5;
  double max_delay_s = 8.0;
  double max_retry_after_s = 60.0;
};

// status 0: the request never got a response (connection error or timeout).
bool ShouldRetry(int status, const Headers& headers, bool stream_started);

// The server's requested delay, seconds; nullopt when absent, unreadable or outside (0, max].
std::optional<double> RetryAfter(const Headers& headers, std::chrono::system_clock::time_point now,
                                 double max_s = 60.0);

// Backoff before retry number `retry` (0 = the first retry); jitter in [0, 1).
double BackoffDelay(const RetryPolicy& p, int retry, double jitter);

// The delay before retry number `retry`: the server's, else the backoff.
double RetryDelay(const RetryPolicy& p, int retry, const Headers& headers,
                  std::chrono::system_clock::time_point now, double jitter);

// An HTTP date (IMF-fixdate, RFC 850 or asctime form) as a time point.
std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view s);

}  // namespace seekd::client
