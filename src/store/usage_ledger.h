// The usage ledger: tokens and requests per key id, per UTC day, in SQLite 3 (WAL mode). The
// server charges every finished generation to its caller's key id and checks token quotas
// against the sums; `seekd usage` and GET /v1/usage read it back.
//
// Durability: each charge is its own transaction with synchronous=NORMAL, so a crash of the
// process loses nothing that was charged (WAL); a power loss may lose the last moments. Several
// processes may share one file (SQLite's locking, a 2 s busy timeout): every read goes to the
// file, nothing is cached in memory.
//
// Schema (version 1, PRAGMA user_version):
//   usage_daily(key_id TEXT, day TEXT 'YYYY-MM-DD' (UTC), requests, prompt_tokens,
//               cached_tokens, completion_tokens; PRIMARY KEY (key_id, day))
//
// Thread-safety: every method may be called from any thread (one connection behind a mutex).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

struct sqlite3;

namespace seekd::store {

struct TokenUsage {
  int64_t requests = 0;
  int64_t prompt_tokens = 0;  // includes the cached ones
  int64_t cached_tokens = 0;  // prompt tokens found in the prefix cache
  int64_t completion_tokens = 0;
  int64_t total_tokens() const { return prompt_tokens + completion_tokens; }
  TokenUsage& operator+=(const TokenUsage& o);
  bool operator==(const TokenUsage&) const = default;
};

// The window a sum (and a quota) covers: everything, the current UTC month, the current UTC day.
enum class Period { kTotal, kMonth, kDay };
std::string_view PeriodName(Period p);  // "total", "month", "day"
std::optional<Period> PeriodFromName(std::string_view name);

using TimePoint = std::chrono::system_clock::time_point;
// First day of the period containing `now` as 'YYYY-MM-DD' ("" for kTotal: no lower bound).
std::string PeriodStart(Period p, TimePoint now);
// When the period containing `now` ends (the next sum starts from zero); nullopt for kTotal.
std::optional<TimePoint> PeriodEnd(Period p, TimePoint now);
// 'YYYY-MM-DD' (UTC) of a time point.
std::string UtcDay(TimePoint t);

class UsageLedger {
 public:
  // Opens (creating if missing) the ledger at `path`; "" or ":memory:" keeps it in memory for
  // the life of the object. Fails on a file that is not a ledger or a newer schema.
  static Result<std::unique_ptr<UsageLedger>> Open(const std::string& path);
  ~UsageLedger();
  UsageLedger(const UsageLedger&) = delete;
  UsageLedger& operator=(const UsageLedger&) = delete;

  // Adds `u` to key_id's row for the UTC day of `now`, in one transaction.
  Status Charge(const std::string& key_id, const TokenUsage& u, TimePoint now);
  // key_id's sum over the period containing `now` (zero when it has no rows).
  Result<TokenUsage> Get(const std::string& key_id, Period p, TimePoint now);
  // Every key id with usage in the period, ordered by key id.
  Result<std::vector<std::pair<std::string, TokenUsage>>> All(Period p, TimePoint now);

  const std::string& path() const { return path_; }

 private:
  UsageLedger(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  Status Migrate();

  std::mutex mu_;
  sqlite3* db_;
  std::string path_;
};

}  // namespace seekd::store
