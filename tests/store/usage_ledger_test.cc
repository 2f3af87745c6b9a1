// The usage ledger on a real SQLite file: sums per period, persistence across reopening,
// several writers, and files that are not ledgers.
#include "store/usage_ledger.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

namespace seekd::store {
namespace {

using std::chrono::sys_days;
namespace chr = std::chrono;

TimePoint At(int y, unsigned m, unsigned d, int hour = 12) {
  return sys_days{chr::year{y} / m / d} + chr::hours{hour};
}

class LedgerFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("seekd-ledger-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "usage.db").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
  std::string path_;
};

TEST(Periods, StartsAndEndsInUtc) {
  const TimePoint t = At(2026, 12, 31, 23);
  EXPECT_EQ(PeriodStart(Period::kTotal, t), "");
  EXPECT_EQ(PeriodStart(Period::kMonth, t), "2026-12-01");
  EXPECT_EQ(PeriodStart(Period::kDay, t), "2026-12-31");
  EXPECT_FALSE(PeriodEnd(Period::kTotal, t).has_value());
  EXPECT_EQ(UtcDay(*PeriodEnd(Period::kMonth, t)), "2027-01-01");
  EXPECT_EQ(UtcDay(*PeriodEnd(Period::kDay, t)), "2027-01-01");
  EXPECT_EQ(UtcDay(*PeriodEnd(Period::kMonth, At(2028, 2, 10))), "2028-03-01");
  EXPECT_EQ(PeriodFromName("month"), Period::kMonth);
  EXPECT_FALSE(PeriodFromName("week").has_value());
}

TEST_F(LedgerFile, SumsPerPeriodAndKey) {
  auto ledger = UsageLedger::Open(path_);
  ASSERT_TRUE(ledger.ok()) << ledger.status().ToString();
  UsageLedger& l = **ledger;
  ASSERT_TRUE(l.Charge("key1", {1, 100, 40, 10}, At(2026, 11, 30)).ok());
  ASSERT_TRUE(l.Charge("key1", {1, 50, 0, 5}, At(2026, 12, 1, 0)).ok());
  ASSERT_TRUE(l.Charge("key1", {1, 7, 7, 3}, At(2026, 12, 2)).ok());
  ASSERT_TRUE(l.Charge("ak:ops", {1, 1, 0, 1}, At(2026, 12, 2)).ok());

  const TimePoint now = At(2026, 12, 2, 18);
  EXPECT_EQ(*l.Get("key1", Period::kTotal, now), (TokenUsage{3, 157, 47, 18}));
  EXPECT_EQ(*l.Get("key1", Period::kMonth, now), (TokenUsage{2, 57, 7, 8}));
  EXPECT_EQ(*l.Get("key1", Period::kDay, now), (TokenUsage{1, 7, 7, 3}));
  EXPECT_EQ(l.Get("key1", Period::kTotal, now)->total_tokens(), 175);
  EXPECT_EQ(*l.Get("nobody", Period::kTotal, now), TokenUsage{});

  auto all = l.All(Period::kDay, now);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].first, "ak:ops");  // ordered by key id
  EXPECT_EQ((*all)[1].second, (TokenUsage{1, 7, 7, 3}));
}

TEST_F(LedgerFile, SurvivesReopeningAndIsPlainSqlite) {
  {
    auto l = UsageLedger::Open(path_);
    ASSERT_TRUE(l.ok());
    ASSERT_TRUE((*l)->Charge("key2", {1, 10, 0, 20}, At(2026, 12, 1)).ok());
  }
  auto l = UsageLedger::Open(path_);
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(*(*l)->Get("key2", Period::kTotal, At(2026, 12, 1)), (TokenUsage{1, 10, 0, 20}));
  // The ledger is an ordinary SQLite database in WAL mode: the sqlite3 shell reads it.
  const std::string cmd = "sqlite3 " + path_ +
                          " \"PRAGMA journal_mode; SELECT key_id || ',' || day || ',' || "
                          "completion_tokens FROM usage_daily\" > " +
                          (dir_ / "out.txt").string();
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream in(dir_ / "out.txt");
  std::string mode, row;
  std::getline(in, mode);
  std::getline(in, row);
  EXPECT_EQ(mode, "wal");
  EXPECT_EQ(row, "key2,2026-12-01,20");
}

TEST_F(LedgerFile, ConcurrentChargesAllCount) {
  auto a = UsageLedger::Open(path_);
  auto b = UsageLedger::Open(path_);  // a second connection, as a second process would have
  ASSERT_TRUE(a.ok() && b.ok());
  const TimePoint now = At(2026, 12, 1);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      UsageLedger& l = t % 2 ? **a : **b;
      for (int i = 0; i < 50; ++i) ASSERT_TRUE(l.Charge("key1", {1, 2, 1, 3}, now).ok());
    });
  for (auto& th : threads) th.join();
  EXPECT_EQ(*(*a)->Get("key1", Period::kTotal, now), (TokenUsage{200, 400, 200, 600}));
}

TEST_F(LedgerFile, RefusesFilesThatAreNotLedgers) {
  {
    std::ofstream f(path_);
    f << "this is not a database, just text that is long enough to have a header";
  }
  auto l = UsageLedger::Open(path_);
  ASSERT_FALSE(l.ok());
  EXPECT_NE(l.status().ToString().find("not a usage ledger"), std::string::npos)
      << l.status().ToString();

  // A SQLite file of some other program, claiming our schema version without our table.
  const std::string other = (dir_ / "other.db").string();
  ASSERT_EQ(
      std::system(("sqlite3 " + other + " 'CREATE TABLE t(x); PRAGMA user_version=1'").c_str()), 0);
  EXPECT_FALSE(UsageLedger::Open(other).ok());
  // A newer schema is refused rather than misread.
  const std::string newer = (dir_ / "newer.db").string();
  ASSERT_EQ(std::system(("sqlite3 " + newer + " 'PRAGMA user_version=9'").c_str()), 0);
  auto n = UsageLedger::Open(newer);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().ToString().find("newer"), std::string::npos);
  // A missing directory is an I/O error, not a crash.
  EXPECT_FALSE(UsageLedger::Open((dir_ / "no/such/dir/x.db").string()).ok());
}

TEST(Ledger, InMemory) {
  auto l = UsageLedger::Open("");
  ASSERT_TRUE(l.ok());
  ASSERT_TRUE((*l)->Charge("anonymous", {1, 3, 0, 4}, At(2026, 12, 1)).ok());
  EXPECT_EQ((*l)->Get("anonymous", Period::kMonth, At(2026, 12, 9))->total_tokens(), 7);
  EXPECT_EQ((*l)->Get("anonymous", Period::kMonth, At(2027, 1, 1))->total_tokens(), 0);
}

}  // namespace
}  // namespace seekd::store
