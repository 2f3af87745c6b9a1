#include "store/usage_ledger.h"

#include <fmt/format.h>
#include <sqlite3.h>

namespace seekd::store {

namespace {

constexpr int kSchemaVersion = 1;

// A prepared statement, finalized on scope exit.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) { rc_ = sqlite3_prepare_v2(db, sql, -1, &s_, nullptr); }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return s_; }
  void Text(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  }
  void Int(int i, int64_t v) { sqlite3_bind_int64(s_, i, v); }

 private:
  sqlite3_stmt* s_ = nullptr;
  int rc_;
};

Status DbError(sqlite3* db, const std::string& what) {
  return IoError(fmt::format("usage ledger: {}: {}", what, sqlite3_errmsg(db)));
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) == SQLITE_OK) return Status::Ok();
  std::string msg = err ? err : "unknown error";
  sqlite3_free(err);
  return IoError("usage ledger: " + msg);
}

TokenUsage ReadUsage(sqlite3_stmt* s, int first) {
  TokenUsage u;
  u.requests = sqlite3_column_int64(s, first);
  u.prompt_tokens = sqlite3_column_int64(s, first + 1);
  u.cached_tokens = sqlite3_column_int64(s, first + 2);
  u.completion_tokens = sqlite3_column_int64(s, first + 3);
  return u;
}

std::chrono::year_month_day Ymd(TimePoint t) {
  return std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(t)};
}

std::string DayString(std::chrono::year_month_day d) {
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(d.year()),
                     static_cast<unsigned>(d.month()), static_cast<unsigned>(d.day()));
}

}  // namespace

TokenUsage& TokenUsage::operator+=(const TokenUsage& o) {
  requests += o.requests;
  prompt_tokens += o.prompt_tokens;
  cached_tokens += o.cached_tokens;
  completion_tokens += o.completion_tokens;
  return *this;
}

std::string_view PeriodName(Period p) {
  switch (p) {
    case Period::kTotal:
      return "total";
    case Period::kMonth:
      return "month";
    case Period::kDay:
      return "day";
  }
  return "total";
}

std::optional<Period> PeriodFromName(std::string_view name) {
  for (Period p : {Period::kTotal, Period::kMonth, Period::kDay})
    if (PeriodName(p) == name) return p;
  return std::nullopt;
}

std::string UtcDay(TimePoint t) { return DayString(Ymd(t)); }

std::string PeriodStart(Period p, TimePoint now) {
  const auto d = Ymd(now);
  switch (p) {
    case Period::kTotal:
      return "";
    case Period::kMonth:
      return DayString(d.year() / d.month() / std::chrono::day{1});
    case Period::kDay:
      return DayString(d);
  }
  return "";
}

std::optional<TimePoint> PeriodEnd(Period p, TimePoint now) {
  const auto d = Ymd(now);
  switch (p) {
    case Period::kTotal:
      return std::nullopt;
    case Period::kMonth: {
      const auto next = std::chrono::year_month{d.year(), d.month()} + std::chrono::months{1};
      return std::chrono::sys_days{next / std::chrono::day{1}};
    }
    case Period::kDay:
      return std::chrono::sys_days{d} + std::chrono::days{1};
  }
  return std::nullopt;
}

Result<std::unique_ptr<UsageLedger>> UsageLedger::Open(const std::string& path) {
  const std::string target = path.empty() ? ":memory:" : path;
  sqlite3* db = nullptr;
  const int rc =
      sqlite3_open_v2(target.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status st = IoError(
        fmt::format("usage ledger {}: {}", target, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close(db);
    return st;
  }
  std::unique_ptr<UsageLedger> ledger(new UsageLedger(db, target));
  if (Status st = ledger->Migrate(); !st.ok()) return st.WithContext(target);
  return ledger;
}

UsageLedger::~UsageLedger() { sqlite3_close(db_); }

Status UsageLedger::Migrate() {
  sqlite3_busy_timeout(db_, 2000);
  // A file that is not SQLite fails here, on the first read of its header.
  int64_t v = 0;
  {
    Stmt version(db_, "PRAGMA user_version");
    if (!version.ok() || sqlite3_step(version.get()) != SQLITE_ROW)
      return DbError(db_, "not a usage ledger");
    v = sqlite3_column_int64(version.get(), 0);
  }  // finalized: WAL mode cannot be set inside the read it opened
  if (v > kSchemaVersion)
    return Unsupported(
        fmt::format("usage ledger schema {} is newer than this seekd's ({}); upgrade seekd", v,
                    kSchemaVersion));
  if (Status st = Exec(db_, "PRAGMA journal_mode=WAL"); !st.ok()) return st;
  if (Status st = Exec(db_, "PRAGMA synchronous=NORMAL"); !st.ok()) return st;
  if (v == kSchemaVersion) {
    // The table must be there and have the columns this version reads.
    Stmt probe(db_,
               "SELECT key_id, day, requests, prompt_tokens, cached_tokens, completion_tokens "
               "FROM usage_daily LIMIT 0");
    if (!probe.ok()) return DbError(db_, "not a usage ledger");
    return Status::Ok();
  }
  return Exec(db_,
              "BEGIN;"
              "CREATE TABLE IF NOT EXISTS usage_daily ("
              "  key_id TEXT NOT NULL,"
              "  day TEXT NOT NULL,"
              "  requests INTEGER NOT NULL DEFAULT 0,"
              "  prompt_tokens INTEGER NOT NULL DEFAULT 0,"
              "  cached_tokens INTEGER NOT NULL DEFAULT 0,"
              "  completion_tokens INTEGER NOT NULL DEFAULT 0,"
              "  PRIMARY KEY (key_id, day)) WITHOUT ROWID;"
              "PRAGMA user_version=1;"
              "COMMIT;");
}

Status UsageLedger::Charge(const std::string& key_id, const TokenUsage& u, TimePoint now) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "INSERT INTO usage_daily (key_id, day, requests, prompt_tokens, cached_tokens, "
         "completion_tokens) VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
         "ON CONFLICT (key_id, day) DO UPDATE SET requests = requests + ?3, "
         "prompt_tokens = prompt_tokens + ?4, cached_tokens = cached_tokens + ?5, "
         "completion_tokens = completion_tokens + ?6");
  if (!s.ok()) return DbError(db_, "charge");
  s.Text(1, key_id);
  s.Text(2, UtcDay(now));
  s.Int(3, u.requests);
  s.Int(4, u.prompt_tokens);
  s.Int(5, u.cached_tokens);
  s.Int(6, u.completion_tokens);
  if (sqlite3_step(s.get()) != SQLITE_DONE) return DbError(db_, "charge " + key_id);
  return Status::Ok();
}

Result<TokenUsage> UsageLedger::Get(const std::string& key_id, Period p, TimePoint now) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT COALESCE(SUM(requests), 0), COALESCE(SUM(prompt_tokens), 0), "
         "COALESCE(SUM(cached_tokens), 0), COALESCE(SUM(completion_tokens), 0) "
         "FROM usage_daily WHERE key_id = ?1 AND day >= ?2");
  if (!s.ok()) return DbError(db_, "read");
  s.Text(1, key_id);
  s.Text(2, PeriodStart(p, now));
  if (sqlite3_step(s.get()) != SQLITE_ROW) return DbError(db_, "read " + key_id);
  return ReadUsage(s.get(), 0);
}

Result<std::vector<std::pair<std::string, TokenUsage>>> UsageLedger::All(Period p, TimePoint now) {
  std::lock_guard<std::mutex> lock(mu_);
  Stmt s(db_,
         "SELECT key_id, SUM(requests), SUM(prompt_tokens), SUM(cached_tokens), "
         "SUM(completion_tokens) FROM usage_daily WHERE day >= ?1 GROUP BY key_id ORDER BY key_id");
  if (!s.ok()) return DbError(db_, "read");
  s.Text(1, PeriodStart(p, now));
  std::vector<std::pair<std::string, TokenUsage>> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    const auto* key = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), 0));
    out.emplace_back(key ? key : "", ReadUsage(s.get(), 1));
  }
  if (rc != SQLITE_DONE) return DbError(db_, "read");
  return out;
}

}  // namespace seekd::store
