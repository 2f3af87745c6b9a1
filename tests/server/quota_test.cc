// Token quotas over a real (in-memory) usage ledger: per-key and default limits, the period
// window, the 402's message, the usage and balance views, and the option parser.
#include "server/quota.h"

#include <gtest/gtest.h>

namespace seekd::server {
namespace {

namespace chr = std::chrono;
store::TimePoint At(int y, unsigned m, unsigned d) {
  return chr::sys_days{chr::year{y} / m / d} + chr::hours{8};
}

TEST(Quotas, PerKeyAndDefaultLimits) {
  auto ledger = store::UsageLedger::Open("");
  ASSERT_TRUE(ledger.ok());
  QuotaOptions o;
  o.default_tokens = 100;
  ASSERT_TRUE(AddKeyQuota("ak:big=1000", &o).ok());
  ASSERT_TRUE(AddKeyQuota("key2=0", &o).ok());  // unlimited despite the default
  Quotas q(o, ledger->get());
  const auto now = At(2026, 12, 1);
  EXPECT_TRUE(q.enabled());
  EXPECT_EQ(q.LimitFor("key1"), 100);
  EXPECT_EQ(q.LimitFor("ak:big"), 1000);
  EXPECT_EQ(q.LimitFor("key2"), 0);

  EXPECT_TRUE(q.Check("key1", now).ok);
  ASSERT_TRUE((*ledger)->Charge("key1", {1, 60, 0, 39}, now).ok());
  EXPECT_TRUE(q.Check("key1", now).ok);  // 99 of 100
  ASSERT_TRUE((*ledger)->Charge("key1", {1, 1, 0, 0}, now).ok());
  const auto d = q.Check("key1", now);
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.used, 100);
  EXPECT_EQ(d.limit, 100);
  EXPECT_NE(d.message.find("used 100 of its 100 tokens for all time"), std::string::npos)
      << d.message;
  // Other keys are not affected; the unlimited one never stops.
  EXPECT_TRUE(q.Check("ak:big", now).ok);
  ASSERT_TRUE((*ledger)->Charge("key2", {1, 5000, 0, 5000}, now).ok());
  EXPECT_TRUE(q.Check("key2", now).ok);
}

TEST(Quotas, MonthlyWindowResets) {
  auto ledger = store::UsageLedger::Open("");
  ASSERT_TRUE(ledger.ok());
  QuotaOptions o;
  o.default_tokens = 50;
  o.period = store::Period::kMonth;
  Quotas q(o, ledger->get());
  ASSERT_TRUE((*ledger)->Charge("jwt:alice", {1, 40, 0, 20}, At(2026, 11, 30)).ok());
  const auto d = q.Check("jwt:alice", At(2026, 11, 30));
  EXPECT_FALSE(d.ok);
  EXPECT_NE(d.message.find("this month; it resets on 2026-12-01 (UTC)"), std::string::npos)
      << d.message;
  EXPECT_TRUE(q.Check("jwt:alice", At(2026, 12, 1)).ok);

  const auto u = q.UsageJson("jwt:alice", At(2026, 11, 30));
  EXPECT_EQ(u["period"], "month");
  EXPECT_EQ(u["period_start"], "2026-11-01");
  EXPECT_EQ(u["period_end"], "2026-12-01");
  EXPECT_EQ(u["total_tokens"], 60);
  EXPECT_EQ(u["token_quota"], 50);
  EXPECT_EQ(u["remaining_tokens"], 0);
  const auto b = q.BalanceJson("jwt:alice", At(2026, 11, 30));
  EXPECT_EQ(b["is_available"], false);
  EXPECT_EQ(b["balance_infos"][0]["total_balance"], "0");
  EXPECT_EQ(q.BalanceJson("jwt:alice", At(2026, 12, 2))["balance_infos"][0]["total_balance"], "50");
  const auto all = q.AllUsageJson(At(2026, 11, 30));
  ASSERT_EQ(all["data"].size(), 1u);
  EXPECT_EQ(all["data"][0]["key_id"], "jwt:alice");
}

TEST(Quotas, NoLimitsMeansDisabled) {
  QuotaOptions o;
  ASSERT_TRUE(AddKeyQuota("key1=0", &o).ok());
  EXPECT_FALSE(o.enabled());
  Quotas q(o, nullptr);
  EXPECT_TRUE(q.Check("key1", At(2026, 1, 1)).ok);
  EXPECT_TRUE(q.UsageJson("key1", At(2026, 1, 1))["token_quota"].is_null());
  EXPECT_EQ(q.BalanceJson("key1", At(2026, 1, 1))["is_available"], true);
}

TEST(Quotas, OptionParser) {
  QuotaOptions o;
  EXPECT_TRUE(AddKeyQuota("ak:a=b=7", &o).ok());  // the last '=' splits: key ids may hold '='
  EXPECT_EQ(o.per_key["ak:a=b"], 7);
  for (const char* bad : {"key1", "=5", "key1=", "key1=-3", "key1=5k", "key1=1e3"})
    EXPECT_FALSE(AddKeyQuota(bad, &o).ok()) << bad;
}

}  // namespace
}  // namespace seekd::server
