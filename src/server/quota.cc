#include "server/quota.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

namespace seekd::server {

bool QuotaOptions::enabled() const {
  if (default_tokens > 0) return true;
  for (const auto& [key, n] : per_key)
    if (n > 0) return true;
  return false;
}

Status AddKeyQuota(const std::string& spec, QuotaOptions* options) {
  const size_t eq = spec.rfind('=');
  if (eq == std::string::npos || eq == 0)
    return InvalidArgument("--token-quota wants KEY_ID=TOKENS, got '" + spec + "'");
  int64_t n = -1;
  const char* end = spec.data() + spec.size();
  const auto [p, ec] = std::from_chars(spec.data() + eq + 1, end, n);
  if (ec != std::errc() || p != end || n < 0 || eq + 1 == spec.size())
    return InvalidArgument("--token-quota " + spec + ": the limit must be a whole number ≥ 0");
  options->per_key[spec.substr(0, eq)] = n;
  return Status::Ok();
}

int64_t Quotas::LimitFor(const std::string& key_id) const {
  if (auto it = opt_.per_key.find(key_id); it != opt_.per_key.end()) return it->second;
  return opt_.default_tokens;
}

Quotas::Decision Quotas::Check(const std::string& key_id, store::TimePoint now) const {
  Decision d;
  d.limit = LimitFor(key_id);
  if (d.limit <= 0 || ledger_ == nullptr) return d;
  auto used = ledger_->Get(key_id, opt_.period, now);
  if (!used.ok()) {
    d.message = used.status().ToString();
    return d;
  }
  d.used = used->total_tokens();
  if (d.used < d.limit) return d;
  d.ok = false;
  std::string when;
  if (auto end = store::PeriodEnd(opt_.period, now))
    when = fmt::format("; it resets on {} (UTC)", store::UtcDay(*end));
  d.message = fmt::format(
      "Insufficient quota: this key has used {} of its {} tokens for {}{}", d.used, d.limit,
      opt_.period == store::Period::kTotal ? std::string("all time")
                                           : "this " + std::string(store::PeriodName(opt_.period)),
      when);
  return d;
}

namespace {
api::ojson UsageFields(const store::TokenUsage& u) {
  return {{"requests", u.requests},
          {"prompt_tokens", u.prompt_tokens},
          {"prompt_cache_hit_tokens", u.cached_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens()}};
}
}  // namespace

api::ojson Quotas::UsageJson(const std::string& key_id, store::TimePoint now) const {
  store::TokenUsage u;
  if (ledger_) {
    auto got = ledger_->Get(key_id, opt_.period, now);
    if (got.ok()) u = *got;
  }
  api::ojson j = {
      {"object", "usage"}, {"key_id", key_id}, {"period", store::PeriodName(opt_.period)}};
  const std::string start = store::PeriodStart(opt_.period, now);
  j["period_start"] = start.empty() ? api::ojson(nullptr) : api::ojson(start);
  const auto end = store::PeriodEnd(opt_.period, now);
  j["period_end"] = end ? api::ojson(store::UtcDay(*end)) : api::ojson(nullptr);
  j.update(UsageFields(u));
  const int64_t limit = LimitFor(key_id);
  j["token_quota"] = limit > 0 ? api::ojson(limit) : api::ojson(nullptr);
  j["remaining_tokens"] =
      limit > 0 ? api::ojson(std::max<int64_t>(0, limit - u.total_tokens())) : api::ojson(nullptr);
  return j;
}

api::ojson Quotas::BalanceJson(const std::string& key_id, store::TimePoint now) const {
  const api::ojson u = UsageJson(key_id, now);
  const int64_t limit = LimitFor(key_id);
  const int64_t left = limit > 0 ? u["remaining_tokens"].get<int64_t>() : 0;
  api::ojson info = {{"currency", "tokens"},
                     {"total_balance", limit > 0 ? std::to_string(left) : "unlimited"},
                     {"granted_balance", limit > 0 ? std::to_string(left) : "unlimited"},
                     {"topped_up_balance", "0"}};
  return {{"is_available", limit <= 0 || left > 0}, {"balance_infos", api::ojson::array({info})}};
}

api::ojson Quotas::AllUsageJson(store::TimePoint now) const {
  api::ojson keys = api::ojson::array();
  if (ledger_) {
    auto all = ledger_->All(opt_.period, now);
    if (all.ok())
      for (const auto& [key, u] : *all) {
        api::ojson k = {{"key_id", key}};
        k.update(UsageFields(u));
        const int64_t limit = LimitFor(key);
        k["token_quota"] = limit > 0 ? api::ojson(limit) : api::ojson(nullptr);
        keys.push_back(std::move(k));
      }
  }
  return {{"object", "list"}, {"period", store::PeriodName(opt_.period)}, {"data", keys}};
}

}  // namespace seekd::server
