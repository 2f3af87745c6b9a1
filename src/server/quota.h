// Token quotas per key id, checked against the usage ledger before a generation is admitted
// (a refusal is the API's 402 insufficient_quota). A key's limit is its own (--token-quota
// KEY_ID=N) or the default (--default-token-quota N); 0 means unlimited. The limit covers
// prompt + completion tokens over one period (total, month or day, UTC).
//
// The check is made at admission and the charge when the request finishes, so requests already
// running when a key reaches its limit still finish and are charged: a key can overrun its
// limit by at most what its in-flight requests use.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "api/responses.h"
#include "core/status.h"
#include "store/usage_ledger.h"

namespace seekd::server {

struct QuotaOptions {
  int64_t default_tokens = 0;              // every key id without its own limit; 0 = none
  std::map<std::string, int64_t> per_key;  // key id ("key1", "ak:AK", "jwt:SUB") → limit
  store::Period period = store::Period::kTotal;
  bool enabled() const;
};

// Parses "KEY_ID=N" (N a positive integer or 0 for unlimited) into options.per_key.
Status AddKeyQuota(const std::string& spec, QuotaOptions* options);

class Quotas {
 public:
  Quotas(QuotaOptions options, store::UsageLedger* ledger)
      : opt_(std::move(options)), ledger_(ledger) {}
  bool enabled() const { return opt_.enabled(); }
  const QuotaOptions& options() const { return opt_; }
  int64_t LimitFor(const std::string& key_id) const;  // 0 = unlimited

  struct Decision {
    bool ok = true;
    int64_t limit = 0;    // 0 = unlimited
    int64_t used = 0;     // tokens in the current period
    std::string message;  // the 402's message when refused
  };
  // A ledger that cannot be read refuses nothing (the error is in the message, for the log).
  Decision Check(const std::string& key_id, store::TimePoint now) const;

  // GET /v1/usage: the caller's own sums for the period, limit and remaining tokens.
  api::ojson UsageJson(const std::string& key_id, store::TimePoint now) const;
  // GET /user/balance in DeepSeek's shape; the "currency" is tokens, the balance what is left.
  api::ojson BalanceJson(const std::string& key_id, store::TimePoint now) const;
  // GET /admin/usage: every key id with usage in the period.
  api::ojson AllUsageJson(store::TimePoint now) const;

 private:
  QuotaOptions opt_;
  store::UsageLedger* ledger_;
};

}  // namespace seekd::server
