#include "server/rate_limit.h"

#include <algorithm>

namespace seekd::server {

RateLimiter::RateLimiter(double requests_per_minute, size_t max_callers)
    : rpm_(requests_per_minute), max_callers_(std::max<size_t>(1, max_callers)) {}

double RateLimiter::Refill(Bucket& b, Clock::time_point now) const {
  const double elapsed = std::chrono::duration<double>(now - b.last).count();
  if (elapsed > 0) {
    b.tokens = std::min(rpm_, b.tokens + elapsed * rpm_ / 60.0);
    b.last = now;
  }
  return b.tokens;
}

RateLimiter::Decision RateLimiter::Take(const std::string& caller, Clock::time_point now) {
  if (rpm_ <= 0) return {};
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(caller);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_callers_) {
      // Callers whose buckets have refilled hold no state worth keeping.
      for (auto b = buckets_.begin(); b != buckets_.end();)
        b = Refill(b->second, now) >= rpm_ ? buckets_.erase(b) : std::next(b);
      if (buckets_.size() >= max_callers_) buckets_.erase(buckets_.begin());
    }
    it = buckets_.emplace(caller, Bucket{rpm_, now}).first;
  }
  Bucket& b = it->second;
  if (Refill(b, now) >= 1.0) {
    b.tokens -= 1.0;
    return {};
  }
  return {false, (1.0 - b.tokens) * 60.0 / rpm_};
}

}  // namespace seekd::server
