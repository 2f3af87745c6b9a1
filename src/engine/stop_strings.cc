#include "engine/stop_strings.h"

#include <algorithm>

namespace seekd::engine {

StopMatcher::StopMatcher(std::vector<std::string> stops) {
  for (auto& s : stops)
    if (!s.empty()) stops_.push_back(std::move(s));
  for (const auto& s : stops_) longest_ = std::max(longest_, s.size());
}

std::string StopMatcher::Push(std::string_view text, bool* stopped) {
  *stopped = done_;
  if (done_) return "";
  held_.append(text);
  // The earliest complete stop string wins (ties: the longer one, as it starts the same place).
  size_t best = std::string::npos;
  for (const auto& s : stops_) {
    const size_t at = held_.find(s);
    if (at != std::string::npos && (at < best || (at == best && s.size() > matched_.size()))) {
      best = at;
      matched_ = s;
    }
  }
  if (best != std::string::npos) {
    done_ = true;
    *stopped = true;
    std::string out = held_.substr(0, best);
    held_.clear();
    return out;
  }
  // Hold back the longest suffix that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const auto& s : stops_)
    for (size_t n = std::min(s.size() - 1, held_.size()); n > keep; --n)
      if (held_.compare(held_.size() - n, n, s, 0, n) == 0) {
        keep = n;
        break;
      }
  std::string out = held_.substr(0, held_.size() - keep);
  held_.erase(0, held_.size() - keep);
  return out;
}

std::string StopMatcher::Flush() {
  if (done_) return "";
  std::string out;
  out.swap(held_);
  return out;
}

}  // namespace seekd::engine
