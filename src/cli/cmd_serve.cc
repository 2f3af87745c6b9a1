// seekd serve [--model [NAME=]PATH ...] [--config seekd.toml] [--host H] [--port P] ...
// An OpenAI/DeepSeek-compatible HTTP server. Every option can also come from the TOML file
// (same names without dashes, e.g. `port = 8080`, `model = ["a=/m/a.gguf"]`) and from
// SEEKD_* environment variables (SEEKD_PORT, SEEKD_API_KEY, ...); the command line wins over
// the environment, which wins over the file.
#include <fmt/format.h>
#include <pthread.h>
#include <sys/resource.h>
#include <toml++/toml.h>
#include <unistd.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>

#include "cli/commands.h"
#include "cli/model_flags.h"
#include "model/pack_cache.h"
#include "obs/request_log.h"
#include "server/http_server.h"
#include "server/metrics.h"
#include "server/models.h"
#include "store/usage_ledger.h"

namespace seekd::cli {
namespace {

namespace fs = std::filesystem;

struct Options {
  std::vector<std::string> models;
  server::ServerOptions server;
  server::ModelOptions model;
  std::vector<std::string> api_keys, access_keys, token_quotas;
  std::string quota_period = "total";
  std::string kv_cache_mem, max_body = "8MiB";
  std::string config;
  std::string log_level = "info";
  std::string kv_dtype = "f32";
  std::string pack_cache;
};

// "512MiB", "2GiB", "1.5G", "1000000" → bytes.
Result<uint64_t> ParseSize(const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    return InvalidArgument("not a size: " + s);
  }
  std::string unit = s.substr(used);
  for (auto& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  double mul = 1;
  if (unit.empty() || unit == "b") {
    mul = 1;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    mul = 1024.0;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    mul = 1024.0 * 1024;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    mul = 1024.0 * 1024 * 1024;
  } else {
    return InvalidArgument("unknown size unit in " + s + " (use KiB, MiB or GiB)");
  }
  if (v <= 0) return InvalidArgument("a size must be positive: " + s);
  return static_cast<uint64_t>(v * mul);
}

// The bundled default model (scripts/setup makes it): ./models/default.gguf, or next to the
// binary's folder.
std::string DefaultModelPath() {
  std::vector<fs::path> candidates = {"models/default.gguf"};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "models/default.gguf");
    candidates.push_back(exe.parent_path() / "models/default.gguf");
  }
  for (const auto& c : candidates)
    if (fs::exists(c, ec)) return c.string();
  return "";
}

// Fills the options the command line and the environment left unset from a TOML file. Keys are
// the long option names without dashes; '-' and '_' are interchangeable (kv_cache_mem).
Status ApplyConfig(CLI::App& app, const std::string& path) {
  toml::table t;
  try {
    t = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    return InvalidArgument(
        fmt::format("{}: {} (line {})", path, e.description(), e.source().begin.line));
  }
  auto text = [](const toml::node& n) -> std::optional<std::string> {
    if (auto v = n.value<std::string>()) return *v;
    if (auto v = n.value<int64_t>()) return std::to_string(*v);
    if (auto v = n.value<double>()) return fmt::format("{}", *v);
    if (auto v = n.value<bool>()) return *v ? "true" : "false";
    return std::nullopt;
  };
  std::vector<std::string> unknown;
  for (const auto& [key, node] : t) {
    std::string name(key.str());
    std::replace(name.begin(), name.end(), '_', '-');
    CLI::Option* opt = nullptr;
    for (CLI::Option* o : app.get_options())
      for (const auto& ln : o->get_lnames())
        if (ln == name) opt = o;
    if (!opt || name == "config") {
      unknown.push_back(std::string(key.str()));
      continue;
    }
    if (opt->count() > 0) continue;  // the command line or the environment wins
    if (const toml::array* arr = node.as_array()) {
      for (const auto& e : *arr) {
        auto v = text(e);
        if (!v)
          return InvalidArgument(path + ": " + std::string(key.str()) +
                                 " has a value of the wrong kind");
        opt->add_result(*v);
      }
    } else {
      auto v = text(node);
      if (!v)
        return InvalidArgument(path + ": " + std::string(key.str()) +
                               " has a value of the wrong kind");
      opt->add_result(*v);
    }
    try {
      opt->run_callback();
    } catch (const CLI::Error& e) {
      return InvalidArgument(path + ": " + std::string(key.str()) + ": " + e.what());
    }
  }
  if (!unknown.empty()) {
    std::string list;
    for (const auto& u : unknown) list += (list.empty() ? "" : ", ") + u;
    return InvalidArgument(path + ": unknown keys: " + list);
  }
  return Status::Ok();
}

int Run(Options o) {
  // SIGINT/SIGTERM go to WaitForSignal only: block them before any thread starts.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);
  // Every open connection is a descriptor: raise the soft limit to the hard one.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  if (!o.kv_cache_mem.empty()) {
    auto b = ParseSize(o.kv_cache_mem);
    if (!b.ok()) {
      std::cerr << "seekd serve: --kv-cache-mem: " << b.status().message() << "\n";
      return 2;
    }
    o.model.kv_cache_bytes = *b;
  }
  auto body = ParseSize(o.max_body);
  if (!body.ok()) {
    std::cerr << "seekd serve: --max-body: " << body.status().message() << "\n";
    return 2;
  }
  o.server.max_body_bytes = *body;
  // List options may also come as one comma-separated value (SEEKD_API_KEY=a,b).
  auto split = [](const std::vector<std::string>& values) {
    std::vector<std::string> out;
    for (const auto& v : values) {
      size_t start = 0;
      while (start <= v.size()) {
        const size_t end = std::min(v.find(',', start), v.size());
        if (end > start) out.push_back(v.substr(start, end - start));
        start = end + 1;
      }
    }
    return out;
  };
  o.server.auth.api_keys = split(o.api_keys);
  for (const auto& pair : split(o.access_keys)) {  // AK:SK
    const size_t colon = pair.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == pair.size()) {
      std::cerr << "seekd serve: --access-key takes AK:SK\n";
      return 2;
    }
    o.server.auth.access_keys[pair.substr(0, colon)] = pair.substr(colon + 1);
  }
  for (const auto& q : split(o.token_quotas)) {
    if (Status st = server::AddKeyQuota(q, &o.server.quotas); !st.ok()) {
      std::cerr << "seekd serve: " << st.message() << "\n";
      return 2;
    }
  }
  if (o.server.quotas.default_tokens < 0) {
    std::cerr << "seekd serve: --default-token-quota must be ≥ 0\n";
    return 2;
  }
  o.server.quotas.period = *store::PeriodFromName(o.quota_period);
  if (o.server.quotas.enabled() && o.server.usage_db.empty())
    std::cerr << "seekd serve: token quotas with no --usage-db: usage is kept in memory and "
                 "starts from zero at every restart\n";
  // Credentials are checked before any model loads, so a bad secret fails at once.
  auto auth = server::Authenticator::Create(o.server.auth);
  if (!auth.ok()) {
    std::cerr << "seekd serve: " << auth.status().message() << "\n";
    return 2;
  }
  if (o.server.quotas.enabled() && !(*auth)->enabled()) {
    std::cerr << "seekd serve: token quotas are per key: they need credentials (--api-key, "
                 "--access-key or --jwt-secret)\n";
    return 2;
  }
  // So is the usage ledger: an unreadable file fails before the model loads.
  if (auto ledger = store::UsageLedger::Open(o.server.usage_db); !ledger.ok()) {
    std::cerr << "seekd serve: " << ledger.status().ToString() << "\n";
    return 2;
  }
  if (o.models.empty()) {
    const std::string p = DefaultModelPath();
    if (p.empty()) {
      std::cerr << "seekd serve: no --model given and the bundled default model is missing "
                   "(scripts/setup makes models/default.gguf)\n";
      return 1;
    }
    o.models.push_back("default=" + p);
  }
  if (Status st = obs::InitLogging(o.log_level); !st.ok()) {
    std::cerr << "seekd serve: " << st.message() << "\n";
    return 2;
  }
  o.model.kv_int8 = o.kv_dtype == "int8";
  o.model.pack_cache_dir = model::ResolvePackCacheDir(o.pack_cache);
  o.server.model_defaults = o.model;
  server::ModelRegistry registry;
  server::ServerMetrics metrics(&registry);
  registry.SetStepObserver([&metrics](const std::string& model, int32_t tokens, int32_t seqs) {
    metrics.OnStep(model, tokens, seqs);
  });
  o.server.metrics = &metrics;
  for (const auto& spec : o.models) {
    std::string name, path = spec;
    // NAME=PATH, unless the whole thing is an existing path.
    std::error_code ec;
    if (auto eq = spec.find('='); eq != std::string::npos && !fs::exists(spec, ec)) {
      name = spec.substr(0, eq);
      path = spec.substr(eq + 1);
    }
    if (name.empty()) name = server::DefaultModelName(path);
    std::cerr << fmt::format("seekd serve: loading {} from {}\n", name, path);
    if (Status st = registry.Load(name, path, o.model); !st.ok()) {
      std::cerr << "seekd serve: " << name << ": " << st.ToString() << "\n";
      return 1;
    }
    const auto m = registry.Get(name);
    const model::PackCacheStatus& pc = m->llm->pack_cache();
    std::cerr << fmt::format(
        "seekd serve: {}: context {} tokens, KV cache {} blocks ({}); packed-weight cache {}{}\n",
        name, m->ctx, m->engine->stats().kv_blocks_total, m->kv_cache_why, pc.state,
        pc.reason.empty() ? std::string() : " (" + pc.reason + ")");
  }
  auto srv = server::Server::Start(o.server, &registry);
  if (!srv.ok()) {
    std::cerr << "seekd serve: " << srv.status().ToString() << "\n";
    return 1;
  }
  std::string names;
  for (const auto& m : registry.List()) names += (names.empty() ? "" : ", ") + m->name;
  // One parseable line: scripts and tests wait for it (port 0 picks a free port).
  std::cout << fmt::format("seekd serve: listening on http://{}:{} (models: {})", o.server.host,
                           (*srv)->port(), names)
            << std::endl;
  (*srv)->WaitForSignal();
  srv->reset();
  std::cerr << "seekd serve: stopped\n";
  return 0;
}

CommandRegistrar reg("serve", [](CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand("serve", "OpenAI/DeepSeek-compatible HTTP server");
  c->add_option("--config", o->config, "TOML file with any of these options (keys without dashes)")
      ->envname("SEEKD_CONFIG");
  c->add_option("--model,-m", o->models,
                "[NAME=]PATH of a GGUF file or HF folder; repeat for several models "
                "(default: the bundled models/default.gguf)")
      ->envname("SEEKD_MODEL");
  c->add_option("--host", o->server.host, "address to listen on")
      ->capture_default_str()
      ->envname("SEEKD_HOST");
  c->add_option("--port,-p", o->server.port, "port (0: any free port)")
      ->capture_default_str()
      ->envname("SEEKD_PORT");
  c->add_option("--api-key", o->api_keys,
                "accepted API keys (Authorization: Bearer KEY) for every route but /health")
      ->envname("SEEKD_API_KEY");
  c->add_option("--access-key", o->access_keys,
                "accepted AK:SK pairs for SEEKD1-HMAC-SHA256 request signatures")
      ->envname("SEEKD_ACCESS_KEY");
  c->add_option("--signature-window", o->server.auth.signature_window,
                "seconds a signed request's timestamp may differ from the server's clock")
      ->capture_default_str()
      ->envname("SEEKD_SIGNATURE_WINDOW");
  c->add_option("--jwt-secret", o->server.auth.jwt_secret,
                "accept HS256 JWTs (Authorization: Bearer TOKEN) signed with this secret "
                "(at least 32 bytes)")
      ->envname("SEEKD_JWT_SECRET");
  c->add_option("--jwt-issuer", o->server.auth.jwt_issuer, "required iss of accepted JWTs")
      ->envname("SEEKD_JWT_ISSUER");
  c->add_option("--jwt-audience", o->server.auth.jwt_audience, "required aud of accepted JWTs")
      ->envname("SEEKD_JWT_AUDIENCE");
  c->add_option("--jwt-leeway", o->server.auth.jwt_leeway,
                "seconds of clock difference allowed on exp/nbf/iat")
      ->capture_default_str()
      ->envname("SEEKD_JWT_LEEWAY");
  c->add_option("--rate-limit-rpm", o->server.rate_limit_rpm,
                "requests per minute per key (per client address without keys); 0: no limit")
      ->capture_default_str()
      ->envname("SEEKD_RATE_LIMIT_RPM");
  c->add_option("--usage-db", o->server.usage_db,
                "SQLite file of the usage ledger (tokens per key per day); default: in memory")
      ->envname("SEEKD_USAGE_DB");
  c->add_option("--token-quota", o->token_quotas,
                "KEY_ID=TOKENS: a key's prompt + completion token limit per quota period "
                "(key ids: key1, key2, ... for API keys, ak:AK, jwt:SUBJECT); 0 = unlimited")
      ->envname("SEEKD_TOKEN_QUOTA");
  c->add_option("--default-token-quota", o->server.quotas.default_tokens,
                "token limit for every key without its own --token-quota; 0 = unlimited")
      ->capture_default_str()
      ->envname("SEEKD_DEFAULT_TOKEN_QUOTA");
  c->add_option("--quota-period", o->quota_period,
                "what a token quota covers: total (a prepaid balance), month or day (UTC)")
      ->capture_default_str()
      ->check(CLI::IsMember({"total", "month", "day"}))
      ->envname("SEEKD_QUOTA_PERIOD");
  c->add_option("--admin-token", o->server.admin_token,
                "enables /admin/models (load/unload) for this Bearer token")
      ->envname("SEEKD_ADMIN_TOKEN");
  c->add_option("--threads,-t", o->model.threads, "compute threads per model (default: cores)")
      ->envname("SEEKD_THREADS");
  c->add_option("--ctx", o->model.ctx, "context length per request (default: the model's)")
      ->envname("SEEKD_CTX");
  c->add_option("--quant", o->model.quant, "re-quantize weights at load: q8_0, q4_k, ...")
      ->envname("SEEKD_QUANT");
  AddPackCacheFlag(c, &o->pack_cache);
  c->add_option("--kv-cache-mem", o->kv_cache_mem, "KV cache pool per model, e.g. 512MiB")
      ->envname("SEEKD_KV_CACHE_MEM");
  c->add_option("--kv-cache-dtype", o->kv_dtype, "KV cache storage: f32 or int8 (a quarter)")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "int8"}))
      ->envname("SEEKD_KV_CACHE_DTYPE");
  c->add_option("--kv-window", o->model.kv_window,
                "streaming window: requests may run past the context, keeping their first "
                "--kv-sinks tokens and at least this many recent ones (0: off; f32 KV only)")
      ->capture_default_str()
      ->envname("SEEKD_KV_WINDOW");
  c->add_option("--kv-block-size", o->model.kv_block,
                "positions per KV block: smaller leaves less of a sequence's last block unused "
                "and shares prefixes more finely")
      ->capture_default_str()
      ->check(CLI::Range(1, 256))
      ->envname("SEEKD_KV_BLOCK_SIZE");
  c->add_option("--kv-sinks", o->model.kv_sinks,
                "tokens a windowed request always keeps from its start (attention sinks)")
      ->capture_default_str()
      ->envname("SEEKD_KV_SINKS");
  c->add_option("--max-batch-tokens", o->model.max_batch_tokens, "tokens per engine step")
      ->capture_default_str()
      ->envname("SEEKD_MAX_BATCH_TOKENS");
  c->add_option("--max-seqs", o->model.max_seqs, "sequences running at once per model")
      ->capture_default_str()
      ->envname("SEEKD_MAX_SEQS");
  c->add_option("--max-queue", o->model.max_queue, "waiting requests before 503")
      ->capture_default_str()
      ->envname("SEEKD_MAX_QUEUE");
  c->add_option("--max-body", o->max_body, "request body limit")
      ->capture_default_str()
      ->envname("SEEKD_MAX_BODY");
  c->add_option("--request-timeout", o->server.request_timeout_s, "seconds per generation")
      ->capture_default_str()
      ->envname("SEEKD_REQUEST_TIMEOUT");
  c->add_option("--keepalive-interval", o->server.keepalive_interval_s,
                "seconds between SSE keep-alive comments")
      ->capture_default_str()
      ->envname("SEEKD_KEEPALIVE_INTERVAL");
  c->add_option("--shutdown-grace", o->server.shutdown_grace_s,
                "seconds running requests get to finish on SIGTERM")
      ->capture_default_str()
      ->envname("SEEKD_SHUTDOWN_GRACE");
  c->add_option("--header-timeout", o->server.header_timeout_s,
                "seconds a request may take to arrive once it has begun")
      ->capture_default_str()
      ->envname("SEEKD_HEADER_TIMEOUT");
  c->add_option("--idle-timeout", o->server.idle_timeout_s,
                "seconds a keep-alive connection may wait for its next request")
      ->capture_default_str()
      ->envname("SEEKD_IDLE_TIMEOUT");
  c->add_option("--log-level", o->log_level,
                "JSON logs on stderr: trace, debug, info (one line per request), warn, error, off")
      ->capture_default_str()
      ->envname("SEEKD_LOG_LEVEL");
  c->add_option("--io-threads", o->server.io_threads, "network threads")
      ->capture_default_str()
      ->envname("SEEKD_IO_THREADS");
  c->add_option("--max-connections", o->server.max_connections, "open connections at most")
      ->capture_default_str()
      ->envname("SEEKD_MAX_CONNECTIONS");
  c->callback([o, exit_code, c] {
    if (!o->config.empty()) {
      if (Status st = ApplyConfig(*c, o->config); !st.ok()) {
        std::cerr << "seekd serve: --config: " << st.message() << "\n";
        *exit_code = 2;
        return;
      }
    }
    *exit_code = Run(*o);
  });
});

}  // namespace
}  // namespace seekd::cli
