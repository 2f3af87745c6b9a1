// Per-caller request rate limits: a token bucket per key id (or per client address when the
// server has no credentials), `requests_per_minute` tokens refilled evenly, holding at most a
// minute's worth. A refusal says how long until the next token (the 429's Retry-After).
// Kept in memory: limits are per process until the guard's shared store lands.
//
// Thread-safety: Take may be called from every I/O thread at once.
#pragma once

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace seekd::server {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  // rpm ≤ 0: no limit. max_callers bounds the table (idle, full buckets are dropped first).
  explicit RateLimiter(double requests_per_minute, size_t max_callers = 100000);

  struct Decision {
    bool ok = true;
    double retry_after_s = 0;  // when refused: seconds until a token is there
  };
  Decision Take(const std::string& caller, Clock::time_point now);
  bool enabled() const { return rpm_ > 0; }

 private:
  struct Bucket {
    double tokens;
    Clock::time_point last;
  };
  double Refill(Bucket& b, Clock::time_point now) const;

  double rpm_;
  size_t max_callers_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace seekd::server
