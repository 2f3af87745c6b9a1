// Subcommand registry of the `seekd` binary. Each cmd_*.cc registers itself with a static
// CommandRegistrar, so adding a subcommand touches one new file and nothing else.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace seekd::cli {

struct Command {
  std::string name;
  // Adds the subcommand (options + callback) to the app. The callback sets *exit_code.
  std::function<void(CLI::App& app, int* exit_code)> add;
};

std::vector<Command>& Commands();

struct CommandRegistrar {
  CommandRegistrar(std::string name, std::function<void(CLI::App&, int*)> add) {
    Commands().push_back({std::move(name), std::move(add)});
  }
};

}  // namespace seekd::cli
