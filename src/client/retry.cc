#include "client/retry.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <ctime>

namespace seekd::client {

namespace {

std::optional<std::string> Header(const Headers& h, std::string_view name) {
  for (const auto& [k, v] : h) {
    if (k.size() != name.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i)
      same = std::tolower(static_cast<unsigned char>(k[i])) ==
             std::tolower(static_cast<unsigned char>(name[i]));
    if (same) return v;
  }
  return std::nullopt;
}

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// A plain non-negative decimal number ("3", "2.5"); nullopt otherwise.
std::optional<double> Number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  for (char c : s)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return std::nullopt;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(v)) return std::nullopt;
  return v;
}

}  // namespace

bool ShouldRetry(int status, const Headers& headers, bool stream_started) {
  if (stream_started) return false;
  if (auto v = Header(headers, "x-should-retry")) {
    const std::string t = Trim(*v);
    if (t == "true") return true;
    if (t == "false") return false;
  }
  return status == 0 || status == 408 || status == 409 || status == 429 || status >= 500;
}

std::optional<std::chrono::system_clock::time_point> ParseHttpDate(std::string_view s) {
  const std::string text = Trim(std::string(s));
  for (const char* fmt :
       {"%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"}) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), fmt, &tm);
    if (end == nullptr || *end != '\0') continue;
    const time_t t = timegm(&tm);
    if (t == static_cast<time_t>(-1)) continue;
    return std::chrono::system_clock::from_time_t(t);
  }
  return std::nullopt;
}

std::optional<double> RetryAfter(const Headers& headers, std::chrono::system_clock::time_point now,
                                 double max_s) {
  std::optional<double> s;
  if (auto ms = Header(headers, "retry-after-ms")) {
    if (auto v = Number(Trim(*ms))) s = *v / 1000.0;
  }
  if (!s) {
    if (auto ra = Header(headers, "retry-after")) {
      const std::string t = Trim(*ra);
      if (auto v = Number(t)) {
        s = *v;
      } else if (auto when = ParseHttpDate(t)) {
        s = std::chrono::duration<double>(*when - now).count();
      }
    }
  }
  if (!s || !(*s > 0) || *s > max_s) return std::nullopt;
  return s;
}

double BackoffDelay(const RetryPolicy& p, int retry, double jitter) {
  const double base =
      std::min(p.initial_delay_s * std::pow(2.0, std::max(0, retry)), p.max_delay_s);
  return base * (1.0 - 0.25 * std::clamp(jitter, 0.0, 1.0));
}

double RetryDelay(const RetryPolicy& p, int retry, const Headers& headers,
                  std::chrono::system_clock::time_point now, double jitter) {
  if (auto s = RetryAfter(headers, now, p.max_retry_after_s)) return *s;
  return BackoffDelay(p, retry, jitter);
}

}  // namespace seekd::client
