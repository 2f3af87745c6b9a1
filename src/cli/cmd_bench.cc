// seekd bench --url URL --model M [--api-key K | --sign-key AK:SK | --jwt-secret S]
//             [--concurrency 1,4,10,16] [--requests N] [--prompt-len L | --prompts FILE]
//             [--max-tokens T] [--stream] [--json] [--plot out.svg]
// Load test of any OpenAI-compatible server (seekd, vLLM, the DeepSeek API, …): for each
// concurrency level, N chat completions with at most that many in flight. Reports QPS and its
// gain over the first level, output tokens/s, TTFT / TPOT / inter-token / end-to-end latency
// percentiles and the error rate — as a table, as JSON, and as an SVG chart.
#include <fmt/format.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <iostream>
#include <mutex>
#include <random>
#include <thread>

#include "cli/commands.h"
#include "cli/credentials.h"
#include "cli/percentile.h"
#include "client/http_client.h"

namespace seekd::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  CredentialFlags creds;
  std::string url, model, levels = "1,4,10,16", prompts_file, plot;
  int requests = 32, prompt_len = 128, max_tokens = 64;
  bool stream = false, json = false;
};

struct Sample {
  bool ok = false;
  std::string error;
  double e2e = 0, ttft = -1;
  int64_t tokens = 0;
  std::vector<double> gaps;  // between streamed pieces
};

// A prompt of about `words` words that no other request shares (no prefix-cache help).
std::string SyntheticPrompt(int words, std::mt19937_64& rng) {
  static const char* kWords[] = {"river",  "stone",  "light",  "garden", "engine", "paper",
                                 "cloud",  "signal", "window", "orange", "market", "silver",
                                 "bridge", "winter", "number", "yellow"};
  std::string s = fmt::format("[{:016x}] Continue this list:", rng());
  for (int i = 0; i < words; ++i) s += std::string(" ") + kWords[rng() % 16];
  return s;
}

Sample OneRequest(client::Client& c, const Options& o, const std::string& prompt) {
  Sample s;
  nlohmann::json req = {{"model", o.model},
                        {"messages", {{{"role", "user"}, {"content", prompt}}}},
                        {"max_tokens", o.max_tokens}};
  const auto t0 = Clock::now();
  if (!o.stream) {
    auto r = c.Chat(req);
    s.e2e = std::chrono::duration<double>(Clock::now() - t0).count();
    if (auto* e = std::get_if<api::ApiError>(&r)) {
      s.error = e->status ? fmt::format("{} {}", e->status, e->code) : e->code;
      return s;
    }
    const auto& j = std::get<nlohmann::json>(r);
    s.tokens = j.contains("usage") ? j["usage"].value("completion_tokens", 0) : 0;
    s.ok = true;
    return s;
  }
  req["stream_options"] = {{"include_usage", true}};
  Clock::time_point last{};
  auto r = c.ChatStream(req, [&](const api::ChatStreamAccumulator::Delta& d) {
    if (d.content.empty() && d.reasoning_content.empty() && !d.tool_calls) return;
    const auto now = Clock::now();
    if (s.ttft < 0) {
      s.ttft = std::chrono::duration<double>(now - t0).count();
    } else {
      s.gaps.push_back(std::chrono::duration<double>(now - last).count());
    }
    last = now;
  });
  s.e2e = std::chrono::duration<double>(Clock::now() - t0).count();
  if (auto* e = std::get_if<api::ApiError>(&r)) {
    s.error = e->status ? fmt::format("{} {}", e->status, e->code) : e->code;
    return s;
  }
  const auto& acc = std::get<api::ChatStreamAccumulator>(r);
  s.tokens = acc.usage() ? acc.usage()->value("completion_tokens", 0) : 0;
  s.ok = true;
  return s;
}

struct Level {
  int concurrency = 0;
  double wall = 0, qps = 0, tokens_per_s = 0, error_rate = 0;
  std::vector<double> ttft, tpot, itl, e2e;
  std::map<std::string, int> errors;
};

Level RunLevel(client::Client& c, const Options& o, int conc,
               const std::vector<std::string>& prompts, std::mt19937_64& rng, bool progress) {
  std::vector<std::string> mine;
  mine.reserve(static_cast<size_t>(o.requests));
  for (int i = 0; i < o.requests; ++i)
    mine.push_back(prompts.empty() ? SyntheticPrompt(o.prompt_len, rng)
                                   : prompts[static_cast<size_t>(i) % prompts.size()]);
  std::vector<Sample> samples(mine.size());
  std::atomic<size_t> next{0}, done{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> workers;
  workers.reserve(static_cast<size_t>(conc));
  for (int w = 0; w < conc; ++w)
    workers.emplace_back([&] {
      for (size_t i; (i = next.fetch_add(1)) < mine.size();) {
        samples[i] = OneRequest(c, o, mine[i]);
        ++done;
      }
    });
  while (progress && done.load() < mine.size()) {
    const size_t d = done.load();
    const int width = 30;
    const int fill = static_cast<int>(width * d / mine.size());
    std::cerr << fmt::format("\r  concurrency {:>3} [{}{}] {}/{}", conc, std::string(fill, '#'),
                             std::string(width - fill, '.'), d, mine.size())
              << std::flush;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (auto& t : workers) t.join();
  if (progress) std::cerr << "\r" << std::string(60, ' ') << "\r";
  Level l;
  l.concurrency = conc;
  l.wall = std::chrono::duration<double>(Clock::now() - t0).count();
  int ok = 0;
  int64_t tokens = 0;
  for (const Sample& s : samples) {
    if (!s.ok) {
      ++l.errors[s.error];
      continue;
    }
    ++ok;
    tokens += s.tokens;
    l.e2e.push_back(s.e2e);
    const double ttft = s.ttft >= 0 ? s.ttft : s.e2e;
    l.ttft.push_back(ttft);
    if (s.tokens > 1) l.tpot.push_back((s.e2e - ttft) / static_cast<double>(s.tokens - 1));
    l.itl.insert(l.itl.end(), s.gaps.begin(), s.gaps.end());
  }
  l.qps = ok / l.wall;
  l.tokens_per_s = static_cast<double>(tokens) / l.wall;
  l.error_rate = static_cast<double>(samples.size() - static_cast<size_t>(ok)) /
                 static_cast<double>(samples.size());
  return l;
}

// A small self-contained SVG: QPS and output tokens/s against concurrency, each scaled to its
// own maximum, plus the p99 end-to-end latency.
std::string Svg(const std::vector<Level>& levels) {
  const double W = 640, H = 360, L = 60, R = 20, T = 30, B = 50;
  double max_q = 1e-9, max_t = 1e-9, max_l = 1e-9;
  for (const auto& l : levels) {
    max_q = std::max(max_q, l.qps);
    max_t = std::max(max_t, l.tokens_per_s);
    max_l = std::max(max_l, Pct(l.e2e, 99));
  }
  auto x = [&](size_t i) {
    return levels.size() < 2 ? L + (W - L - R) / 2
                             : L + (W - L - R) * static_cast<double>(i) / (levels.size() - 1);
  };
  auto line = [&](auto value, double max, const char* color, const char* name, int row) {
    std::string pts;
    for (size_t i = 0; i < levels.size(); ++i)
      pts += fmt::format("{:.1f},{:.1f} ", x(i), T + (H - T - B) * (1 - value(levels[i]) / max));
    return fmt::format(
        "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>\n"
        "<text x=\"{}\" y=\"{}\" fill=\"{}\" font-size=\"12\">{} (max {:.3g})</text>\n",
        color, pts, L + 10, T - 12 + 14 * row, color, name, max);
  };
  std::string s = fmt::format(
      "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" "
      "font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\n",
      W, H + 14, L, H - B, W - R, H - B);
  s += line([](const Level& l) { return l.qps; }, max_q, "#1f77b4", "QPS", 0);
  s += line([](const Level& l) { return l.tokens_per_s; }, max_t, "#2ca02c", "output tok/s", 1);
  s += line([](const Level& l) { return Pct(l.e2e, 99); }, max_l, "#d62728", "e2e p99 s", 2);
  for (size_t i = 0; i < levels.size(); ++i)
    s += fmt::format(
        "<text x=\"{:.1f}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>\n", x(i),
        H - B + 18, levels[i].concurrency);
  s += fmt::format(
      "<text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">concurrency</text>\n",
      (L + W - R) / 2, H - B + 36);
  return s + "</svg>\n";
}

int Run(const Options& o) {
  std::vector<int> levels;
  std::string cur;
  for (char ch : o.levels + ",") {
    if (ch == ',') {
      if (!cur.empty()) levels.push_back(static_cast<int>(std::strtol(cur.c_str(), nullptr, 10)));
      cur.clear();
    } else {
      cur += ch;
    }
  }
  if (levels.empty() || std::any_of(levels.begin(), levels.end(), [](int l) { return l < 1; }) ||
      o.requests < 1 || o.max_tokens < 1 || o.prompt_len < 0) {
    std::cerr << "seekd bench: --concurrency is a list of positive integers; --requests and "
                 "--max-tokens must be positive\n";
    return 2;
  }
  std::vector<std::string> prompts;
  if (!o.prompts_file.empty()) {
    std::ifstream f(o.prompts_file);
    for (std::string line; std::getline(f, line);)
      if (!line.empty()) prompts.push_back(line);
    if (prompts.empty()) {
      std::cerr << "seekd bench: no prompts in " << o.prompts_file << "\n";
      return 2;
    }
  }
  client::ClientOptions co;
  co.base_url = o.url;
  if (const std::string bad = o.creds.Apply(&co); !bad.empty()) {
    std::cerr << "seekd bench: " << bad << "\n";
    return 2;
  }
  co.retry.max_retries = 0;  // measure the server, not the client's patience
  // Every level's streams in flight at once: the client's own bound must not cap them.
  co.max_concurrency = std::max(1, *std::max_element(levels.begin(), levels.end()));
  client::Client c(co);
  std::mt19937_64 rng(std::random_device{}());
  const bool progress = isatty(2) != 0 && !o.json;
  std::vector<Level> results;
  results.reserve(levels.size());
  for (int l : levels) results.push_back(RunLevel(c, o, l, prompts, rng, progress));
  const double base = results.front().qps > 0 ? results.front().qps : 1;
  if (o.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const Level& l : results) {
      auto pct = [](const std::vector<double>& v) {
        return nlohmann::json{{"p50", Pct(v, 50)}, {"p90", Pct(v, 90)}, {"p99", Pct(v, 99)}};
      };
      out.push_back({{"concurrency", l.concurrency},
                     {"requests", o.requests},
                     {"wall_s", l.wall},
                     {"qps", l.qps},
                     {"qps_gain", l.qps / base},
                     {"output_tokens_per_s", l.tokens_per_s},
                     {"error_rate", l.error_rate},
                     {"errors", l.errors},
                     {"ttft_s", pct(l.ttft)},
                     {"tpot_s", pct(l.tpot)},
                     {"itl_s", pct(l.itl)},
                     {"e2e_s", pct(l.e2e)}});
    }
    std::cout << out.dump(2) << "\n";
  } else {
    std::cout << fmt::format("{:>5} {:>8} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>7}\n",
                             "conc", "QPS", "gain", "tok/s", "ttft p50", "ttft p99", "tpot p50",
                             "e2e p50", "e2e p90", "e2e p99", "errors");
    for (const Level& l : results)
      std::cout << fmt::format(
          "{:>5} {:>8.2f} {:>5.2f}x {:>9.1f} {:>8.3f}s {:>8.3f}s {:>8.3f}s {:>8.3f}s {:>8.3f}s "
          "{:>8.3f}s {:>6.1f}%\n",
          l.concurrency, l.qps, l.qps / base, l.tokens_per_s, Pct(l.ttft, 50), Pct(l.ttft, 99),
          Pct(l.tpot, 50), Pct(l.e2e, 50), Pct(l.e2e, 90), Pct(l.e2e, 99), 100 * l.error_rate);
    for (const Level& l : results)
      for (const auto& [err, n] : l.errors)
        std::cout << fmt::format("  concurrency {}: {} × {}\n", l.concurrency, n, err);
  }
  if (!o.plot.empty()) {
    std::ofstream f(o.plot);
    if (!(f << Svg(results))) {
      std::cerr << "seekd bench: cannot write " << o.plot << "\n";
      return 1;
    }
  }
  return 0;
}

CommandRegistrar reg("bench", [](CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand("bench", "Load-test an OpenAI-compatible server over HTTP");
  c->add_option("--url", o->url, "base URL, e.g. http://127.0.0.1:8080/v1")->required();
  c->add_option("--model,-m", o->model, "model name")->required();
  o->creds.Add(c);
  c->add_option("--concurrency,-c", o->levels, "comma-separated levels")->capture_default_str();
  c->add_option("--requests,-r", o->requests, "requests per level")->capture_default_str();
  c->add_option("--prompt-len", o->prompt_len, "words per synthetic prompt")->capture_default_str();
  c->add_option("--prompts", o->prompts_file, "a file with one prompt per line");
  c->add_option("--max-tokens,-n", o->max_tokens, "max_tokens per request")->capture_default_str();
  c->add_flag("--stream", o->stream, "stream (measures TTFT and inter-token latency)");
  c->add_flag("--json", o->json, "print JSON");
  c->add_option("--plot", o->plot, "write an SVG chart here");
  c->callback([o, exit_code] { *exit_code = Run(*o); });
});

}  // namespace
}  // namespace seekd::cli
