// seekd — one binary, many subcommands (see `seekd --help`).
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdio>
#include <exception>

#include "cli/commands.h"

namespace seekd::cli {
std::vector<Command>& Commands() {
  static std::vector<Command> commands;
  return commands;
}
}  // namespace seekd::cli

namespace {
int Main(int argc, char** argv) {
  CLI::App app{"seekd — run, serve and call DeepSeek models"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "seekd 0.1.0");
  int exit_code = 0;
  auto& commands = seekd::cli::Commands();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& c : commands) c.add(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
}  // namespace

// Commands report expected failures themselves; anything thrown past them (out of memory, a
// library's exception) still ends with one clear line and exit code 1, never an abort.
int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "seekd: internal error: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "seekd: internal error\n");
  }
  return 1;
}
