// The HTTP front: OpenAI/DeepSeek-compatible routes over HTTP/1.1 keep-alive (Boost.Beast on
// Asio coroutines; Beast stays inside http_server.cc). Each connection is a coroutine on a
// strand; engines post events to it, so an idle or streaming connection costs no thread.
//
//   POST /v1/chat/completions      chat (stream or not; reasoning_content; logprobs; n)
//   POST /v1/completions           text completions; `suffix` → fill-in-the-middle
//   GET  /v1/models[/ID]           loaded models
//   POST /tokenize, /detokenize    token ids ↔ text with a model's tokenizer
//   GET  /health                   alive (never needs a key)
//   GET  /ready                    200 once a model is loaded, else 503
//   GET  /v1/usage, /user/balance  the caller's token usage and what its quota leaves
//   GET  /admin/usage              every key's usage (admin token)
//   POST /admin/models, DELETE /admin/models/NAME   load / unload (only with an admin token)
// Paths also answer without /v1 and under /beta (DeepSeek's FIM alias).
//
// Thread-safety: Start/Stop/Wait from one controlling thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "server/auth.h"
#include "server/models.h"
#include "server/quota.h"

namespace seekd::server {

struct ServerMetrics;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;            // 0: any free port (see Server::port)
  AuthOptions auth;           // when any method is set, every route but /health needs credentials
  double rate_limit_rpm = 0;  // requests per minute per key id (or client address); 0 = none
  std::string usage_db;       // the usage ledger's SQLite file; "" = in memory
  QuotaOptions quotas;        // token quotas per key id (need credentials)
  std::string admin_token;    // enables /admin/* (Bearer token)
  uint64_t max_body_bytes = 8ull << 20;
  int request_timeout_s = 600;    // a generation running longer is cancelled
  int header_timeout_s = 30;      // the whole request head and body must arrive within this
  int idle_timeout_s = 120;       // a keep-alive connection with no request is closed
  int keepalive_interval_s = 10;  // SSE ": keep-alive" while a stream has nothing to send
  int shutdown_grace_s = 30;      // SIGTERM: running requests get this long to finish
  int io_threads = 1;
  int max_connections = 4096;        // more are accepted and closed at once with a 503
  ModelOptions model_defaults;       // for models loaded through /admin/models
  ServerMetrics* metrics = nullptr;  // GET /metrics and request accounting when set
};

class Server {
 public:
  // Binds and starts serving on background threads.
  static Result<std::unique_ptr<Server>> Start(ServerOptions options, ModelRegistry* models);
  ~Server();
  int port() const;
  // Stops accepting, lets running requests finish within shutdown_grace_s, cancels the rest,
  // and returns when every connection is closed.
  void Shutdown();
  // Blocks until SIGINT/SIGTERM, then shuts down gracefully.
  void WaitForSignal();

  struct Impl;

 private:
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace seekd::server
