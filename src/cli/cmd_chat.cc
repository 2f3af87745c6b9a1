// seekd chat [--url URL [--api-key K | --sign-key AK:SK | --jwt-secret S] [--model NAME]
//            | --model PATH] [--system S] [--max-tokens N] [--temp T] [--thinking]
// Interactive chat in the terminal over the OpenAI-compatible API: streamed answers with the
// reasoning shown apart, a history, and commands:
//   /system TEXT   set the system prompt (the history is kept)
//   /reset         forget the conversation
//   /save FILE     write the conversation as JSON messages
//   /exit          leave (Ctrl-D too)
// Ctrl-C stops the answer being written and returns to the prompt. With a model path instead
// of a URL, seekd serves it in-process on 127.0.0.1 and talks to it the same way.
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "cli/credentials.h"
#include "client/http_client.h"
#include "obs/request_log.h"
#include "server/http_server.h"
#include "server/models.h"

namespace seekd::cli {
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void OnSigint(int) { g_interrupted = true; }

struct Options {
  CredentialFlags creds;
  std::string url, model, system;
  int32_t max_tokens = 1024;
  double temp = -1;  // < 0: the server's default
  bool thinking = false;
  int threads = 0;
};

int Run(const Options& o) {
  // A model path (and no URL): serve it here, on a free port, and chat with it over HTTP.
  std::unique_ptr<server::ModelRegistry> registry;
  std::unique_ptr<server::Server> local;
  std::string url = o.url, model = o.model;
  if (url.empty()) {
    if (model.empty() || !std::filesystem::exists(model)) {
      std::cerr << "seekd chat: give --url of a server, or --model with a model file\n";
      return 2;
    }
    (void)obs::InitLogging("warn");  // the in-process server's request lines are noise here
    registry = std::make_unique<server::ModelRegistry>();
    server::ModelOptions mo;
    mo.threads = o.threads;
    mo.max_seqs = 2;
    if (Status st = registry->Load("local", model, mo); !st.ok()) {
      std::cerr << "seekd chat: " << st.ToString() << "\n";
      return 1;
    }
    server::ServerOptions so;
    so.port = 0;
    auto srv = server::Server::Start(so, registry.get());
    if (!srv.ok()) {
      std::cerr << "seekd chat: " << srv.status().ToString() << "\n";
      return 1;
    }
    local = std::move(*srv);
    url = fmt::format("http://127.0.0.1:{}/v1", local->port());
    model = "local";
  }
  client::ClientOptions co;
  co.base_url = url;
  if (const std::string bad = o.creds.Apply(&co); !bad.empty()) {
    std::cerr << "seekd chat: " << bad << "\n";
    return 2;
  }
  client::Client client(co);
  if (model.empty()) {
    // The server's first model.
    const client::Response r = client.Get("/models");
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (r.status != 200 || !j.is_object() || !j.contains("data") || j["data"].empty()) {
      std::cerr << "seekd chat: cannot list the server's models: "
                << client::Client::ErrorOf(r).message << "\n";
      return 1;
    }
    model = j["data"][0].value("id", "");
  }

  struct sigaction sa {};
  sa.sa_handler = OnSigint;
  sigaction(SIGINT, &sa, nullptr);
  const bool tty = isatty(0) != 0 && isatty(1) != 0;
  std::string system = o.system;
  nlohmann::json history = nlohmann::json::array();
  if (tty)
    std::cout << fmt::format("seekd chat with {} at {} — /system, /reset, /save FILE, /exit\n",
                             model, url);
  std::string line;
  for (;;) {
    if (tty) std::cout << "> " << std::flush;
    g_interrupted = false;
    if (!std::getline(std::cin, line)) {
      if (g_interrupted && std::cin.eof() == false) {  // Ctrl-C at the prompt: a new prompt
        std::cin.clear();
        std::cout << "\n";
        continue;
      }
      break;
    }
    if (line.empty()) continue;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      history = nlohmann::json::array();
      std::cout << "(conversation cleared)\n";
      continue;
    }
    if (line.rfind("/system", 0) == 0) {
      system = line.size() > 8 ? line.substr(8) : "";
      std::cout << "(system prompt set)\n";
      continue;
    }
    if (line.rfind("/save", 0) == 0) {
      const std::string file = line.size() > 6 ? line.substr(6) : "";
      nlohmann::json all = nlohmann::json::array();
      if (!system.empty()) all.push_back({{"role", "system"}, {"content", system}});
      for (const auto& m : history) all.push_back(m);
      std::ofstream f(file);
      if (file.empty() || !(f << all.dump(2) << "\n")) {
        std::cout << "(cannot write " << file << ")\n";
      } else {
        std::cout << "(saved " << all.size() << " messages to " << file << ")\n";
      }
      continue;
    }
    history.push_back({{"role", "user"}, {"content", line}});
    nlohmann::json req = {{"model", model}, {"max_tokens", o.max_tokens}};
    nlohmann::json messages = nlohmann::json::array();
    if (!system.empty()) messages.push_back({{"role", "system"}, {"content", system}});
    for (const auto& m : history) messages.push_back(m);
    req["messages"] = messages;
    if (o.temp >= 0) req["temperature"] = o.temp;
    if (o.thinking) req["chat_template_kwargs"] = {{"thinking", true}, {"enable_thinking", true}};
    bool in_reasoning = false;
    std::string answer;
    api::ChatStreamAccumulator acc;
    req["stream"] = true;
    const client::Response r =
        client.PostStream("/chat/completions", req, [&](const api::SseEvent& e) {
          for (const auto& d : acc.Add(e.data)) {
            if (!d.reasoning_content.empty()) {
              if (!in_reasoning) std::cout << (tty ? "\033[2m" : "[reasoning]\n");
              in_reasoning = true;
              std::cout << d.reasoning_content;
            }
            if (!d.content.empty()) {
              if (in_reasoning) std::cout << (tty ? "\033[0m\n" : "\n[answer]\n");
              in_reasoning = false;
              std::cout << d.content;
              answer += d.content;
            }
            std::cout << std::flush;
          }
          return !g_interrupted.load();  // read to the end after [DONE]
        });
    if (in_reasoning && tty) std::cout << "\033[0m";
    if (g_interrupted) {
      std::cout << "\n(stopped)\n";
    } else if (!r.stream_started) {
      std::cout << "(error: " << client::Client::ErrorOf(r).message << ")\n";
      history.erase(history.end() - 1);
      continue;
    } else if (acc.error()) {
      std::cout << "\n(error: " << acc.error()->message << ")\n";
    } else {
      std::cout << "\n";
    }
    history.push_back({{"role", "assistant"}, {"content", answer}});
  }
  if (tty) std::cout << "\n";
  return 0;
}

CommandRegistrar reg("chat", [](CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand("chat", "Interactive chat with a server or a local model");
  c->add_option("--url", o->url, "an OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1")
      ->envname("SEEKD_URL");
  o->creds.Add(c);
  c->add_option("--model,-m", o->model,
                "with --url: the model name (default: the server's first); alone: a model file "
                "served in-process");
  c->add_option("--system", o->system, "system prompt");
  c->add_option("--max-tokens,-n", o->max_tokens, "tokens per answer")->capture_default_str();
  c->add_option("--temp", o->temp, "temperature (default: the server's)");
  c->add_flag("--thinking", o->thinking, "switch the template's thinking on (V3.1, R1-Distill)");
  c->add_option("--threads,-t", o->threads, "compute threads for a local model");
  c->callback([o, exit_code] { *exit_code = Run(*o); });
});

}  // namespace
}  // namespace seekd::cli
