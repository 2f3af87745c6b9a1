#include "api/responses.h"

#include <atomic>
#include <chrono>
#include <random>

namespace seekd::api {

std::string NewId(std::string_view prefix) {
  // A per-process random base plus a counter: unique without a lock.
  static const uint64_t base = [] {
    std::random_device rd;
    return (static_cast<uint64_t>(rd()) << 32) ^ rd() ^
           static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }();
  static std::atomic<uint64_t> counter{0};
  const uint64_t n = counter.fetch_add(1);
  uint64_t x = base + n * 0x9E3779B97F4A7C15ull;
  x ^= x >> 31;
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%08llx", static_cast<unsigned long long>(x),
                static_cast<unsigned long long>(n & 0xffffffffull));
  return std::string(prefix) + "-" + buf;
}

std::string Dump(const ojson& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string SseData(const ojson& j) { return "data: " + Dump(j) + "\n\n"; }

ojson Usage::ToJson() const {
  ojson u;
  u["prompt_tokens"] = prompt_tokens;
  u["completion_tokens"] = completion_tokens;
  u["total_tokens"] = prompt_tokens + completion_tokens;
  u["prompt_cache_hit_tokens"] = cached_tokens;
  u["prompt_cache_miss_tokens"] = prompt_tokens - cached_tokens;
  u["prompt_tokens_details"] = {{"cached_tokens", cached_tokens}};
  u["completion_tokens_details"] = {{"reasoning_tokens", reasoning_tokens}};
  return u;
}

namespace {
ojson Bytes(const std::string& s) {
  ojson a = ojson::array();
  for (unsigned char c : s) a.push_back(static_cast<int>(c));
  return a;
}
}  // namespace

ojson ChatLogprobs(const std::vector<TokenLogprob>& tokens) {
  ojson content = ojson::array();
  for (const auto& t : tokens) {
    ojson e;
    e["token"] = t.bytes;
    e["logprob"] = t.logprob;
    e["bytes"] = Bytes(t.bytes);
    ojson top = ojson::array();
    for (const auto& [b, lp] : t.top) {
      ojson a;
      a["token"] = b;
      a["logprob"] = lp;
      a["bytes"] = Bytes(b);
      top.push_back(std::move(a));
    }
    e["top_logprobs"] = std::move(top);
    content.push_back(std::move(e));
  }
  return {{"content", std::move(content)}};
}

ojson CompletionLogprobs(const std::vector<TokenLogprob>& tokens, int64_t first_offset) {
  ojson toks = ojson::array(), lps = ojson::array(), tops = ojson::array(), offs = ojson::array();
  int64_t off = first_offset;
  for (const auto& t : tokens) {
    toks.push_back(t.bytes);
    lps.push_back(t.logprob);
    ojson top = ojson::object();
    for (const auto& [b, lp] : t.top) top[b] = lp;
    tops.push_back(std::move(top));
    offs.push_back(off);
    off += static_cast<int64_t>(t.bytes.size());
  }
  ojson j;
  j["tokens"] = std::move(toks);
  j["token_logprobs"] = std::move(lps);
  j["top_logprobs"] = std::move(tops);
  j["text_offset"] = std::move(offs);
  return j;
}

}  // namespace seekd::api
