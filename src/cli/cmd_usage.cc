// seekd usage --usage-db PATH [--period total|month|day] [--json]: the usage ledger a server
// writes (tokens and requests per key id), read while the server runs or after it stopped.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "store/usage_ledger.h"

namespace seekd::cli {
namespace {

struct UsageArgs {
  std::string db, period = "total";
  bool json = false;
};

int RunUsage(const UsageArgs& a) {
  std::error_code ec;
  if (!std::filesystem::exists(a.db, ec)) {  // Open would create an empty ledger
    std::cerr << "seekd usage: " << a.db << ": no such file\n";
    return 1;
  }
  auto ledger = store::UsageLedger::Open(a.db);
  if (!ledger.ok()) {
    std::cerr << "seekd usage: " << ledger.status().ToString() << "\n";
    return 1;
  }
  const store::Period period = *store::PeriodFromName(a.period);
  const auto now = std::chrono::system_clock::now();
  auto rows = (*ledger)->All(period, now);
  if (!rows.ok()) {
    std::cerr << "seekd usage: " << rows.status().ToString() << "\n";
    return 1;
  }
  const std::string start = store::PeriodStart(period, now);
  if (a.json) {
    nlohmann::json keys = nlohmann::json::array();
    for (const auto& [key, u] : *rows)
      keys.push_back({{"key_id", key},
                      {"requests", u.requests},
                      {"prompt_tokens", u.prompt_tokens},
                      {"prompt_cache_hit_tokens", u.cached_tokens},
                      {"completion_tokens", u.completion_tokens},
                      {"total_tokens", u.total_tokens()}});
    const nlohmann::json out = {
        {"period", a.period},
        {"period_start", start.empty() ? nlohmann::json(nullptr) : nlohmann::json(start)},
        {"keys", keys}};
    // JWT subjects are caller-chosen: invalid UTF-8 is replaced, not thrown on.
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return 0;
  }
  std::cout << fmt::format("usage in {} ({})\n", a.db,
                           start.empty() ? std::string("all time") : "since " + start + " UTC");
  std::cout << fmt::format("{:<24} {:>9} {:>14} {:>14} {:>14} {:>14}\n", "key id", "requests",
                           "prompt", "cache hits", "completion", "total");
  for (const auto& [key, u] : *rows)
    std::cout << fmt::format("{:<24} {:>9} {:>14} {:>14} {:>14} {:>14}\n", key, u.requests,
                             u.prompt_tokens, u.cached_tokens, u.completion_tokens,
                             u.total_tokens());
  return 0;
}

CommandRegistrar reg("usage", [](CLI::App& app, int* exit_code) {
  auto a = std::make_shared<UsageArgs>();
  CLI::App* c = app.add_subcommand("usage", "Tokens and requests per key from a usage ledger");
  c->add_option("--usage-db", a->db, "the ledger file `seekd serve --usage-db` writes")
      ->required()
      ->envname("SEEKD_USAGE_DB");
  c->add_option("--period", a->period, "total, month or day (UTC)")
      ->capture_default_str()
      ->check(CLI::IsMember({"total", "month", "day"}));
  c->add_flag("--json", a->json, "print JSON");
  c->callback([a, exit_code] { *exit_code = RunUsage(*a); });
});

}  // namespace
}  // namespace seekd::cli
