#include "server/http_server.h"

#include <fmt/format.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cmath>
#include <csignal>
#include <iostream>
#include <set>
#include <thread>

#include "api/errors.h"
#include "api/requests.h"
#include "api/responses.h"
#include "obs/request_log.h"
#include "security/crypto.h"
#include "server/endpoints.h"
#include "server/generation.h"
#include "server/metrics.h"
#include "server/rate_limit.h"
#include "tokenizer/unicode.h"

namespace seekd::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using net::awaitable;
using ojson = nlohmann::ordered_json;
constexpr auto kTuple = net::as_tuple(net::use_awaitable);
using Clock = std::chrono::steady_clock;

namespace {

// Wakes a connection's coroutine from engine threads. Posting stops once the request is over,
// so nothing reaches an executor that may be gone.
struct Signal {
  explicit Signal(const net::any_io_executor& ex) : timer(ex) {}
  void Notify(const std::shared_ptr<Signal>& self) {
    pending = true;
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
    net::post(timer.get_executor(), [self] { self->timer.cancel(); });
  }
  void Close() {
    std::lock_guard<std::mutex> lock(mu);
    closed = true;
  }
  net::steady_timer timer;
  std::atomic<bool> pending{false};
  bool gone = false;      // the client went away (strand only)
  bool finished = false;  // the request is over (strand only)
  bool cancel = false;    // the server is shutting down (strand only)
  std::mutex mu;
  bool closed = false;
};

struct Conn {
  explicit Conn(tcp::socket s) : stream(std::move(s)) {}
  beast::tcp_stream stream;
  beast::flat_buffer buf;
  bool busy = false;
  std::shared_ptr<Signal> sig;  // of the running request
};

std::string BearerToken(const http::request<http::string_body>& req) {
  auto it = req.find(http::field::authorization);
  if (it == req.end()) return "";
  std::string_view v(it->value().data(), it->value().size());
  if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer "))
    return std::string(v.substr(7));
  return "";
}

// The client's request id when it is short and printable, else a new one.
std::string RequestId(const http::request<http::string_body>& req) {
  auto it = req.find("x-request-id");
  if (it != req.end()) {
    std::string_view v(it->value().data(), it->value().size());
    bool ok = !v.empty() && v.size() <= 128;
    for (char ch : v) ok = ok && ch > 32 && ch < 127;
    if (ok) return std::string(v);
  }
  return api::NewId("req");
}

std::string StatsJson(const engine::EngineStats& st) {
  ojson j;
  j["running"] = st.running;
  j["waiting"] = st.waiting;
  j["kv_blocks_total"] = st.kv_blocks_total;
  j["kv_blocks_used"] = st.kv_blocks_used;
  j["kv_blocks_cached"] = st.kv_blocks_cached;
  j["kv_block_size"] = st.kv_block_size;
  j["preemptions"] = st.preemptions;
  return j.dump();
}

std::string EndpointLabel(std::string_view path) {
  if (path == "/chat/completions") return "chat_completions";
  if (path == "/completions") return "completions";
  if (path == "/models" || path.rfind("/models/", 0) == 0) return "models";
  if (path == "/tokenize") return "tokenize";
  if (path == "/detokenize") return "detokenize";
  if (path == "/health") return "health";
  if (path == "/ready") return "ready";
  if (path == "/metrics") return "metrics";
  if (path.rfind("/admin/", 0) == 0) return "admin";
  if (path == "/usage" || path == "/user/balance") return "usage";
  return "other";
}

api::ApiError TimeoutError() {
  return {504, "timeout", "The generation ran past the server's request timeout", "", "timeout"};
}
api::ApiError HeadersTooLarge() {
  return {431, "invalid_request_error", "The request headers are too large", "",
          "headers_too_large"};
}
api::ApiError RequestTimeout() {
  return {408, "invalid_request_error", "The request did not arrive in time", "",
          "request_timeout"};
}

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<store::UsageLedger> ledger;
  std::unique_ptr<Quotas> quotas;
  ModelRegistry* models = nullptr;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;
  net::thread_pool blocking{1};  // model loads, off the network threads
  std::atomic<int> connections{0}, active{0};
  std::atomic<bool> draining{false};
  std::mutex conns_mu;
  std::set<std::shared_ptr<Conn>> conns;
  std::once_flag shutdown_once;

  static Reply Error(const api::ApiError& e, double retry_after_s = 1) {
    return ErrorReply(e, retry_after_s);
  }
  static Reply Json(const ojson& j) { return JsonReply(j); }

  awaitable<bool> Write(Conn& c, const Reply& r, const std::string& rid, bool keep) {
    http::response<http::string_body> res{static_cast<http::status>(r.status), 11};
    res.set(http::field::server, "seekd/" SEEKD_VERSION_STRING);
    res.set(http::field::content_type, r.content_type);
    res.set("x-request-id", rid);
    for (const auto& [k, v] : r.headers) res.set(k, v);
    res.keep_alive(keep);
    res.body() = r.body;
    res.prepare_payload();
    c.stream.expires_after(std::chrono::seconds(60));
    auto [ec, n] = co_await http::async_write(c.stream, res, kTuple);
    c.stream.expires_never();
    co_return !ec && keep;
  }

  awaitable<bool> WriteRaw(Conn& c, net::const_buffer b) {
    c.stream.expires_after(std::chrono::seconds(60));  // a client that stops reading
    auto [ec, n] = co_await net::async_write(c.stream, http::make_chunk(b), kTuple);
    c.stream.expires_never();
    co_return !ec;
  }

  // Waits for the client to close while a request runs (HTTP/1.1 clients send nothing more
  // until the answer, so readable-with-EOF means gone).
  static awaitable<void> Watch(std::shared_ptr<Conn> c, std::shared_ptr<Signal> sig) {
    char b = 0;
    auto [ec, n] = co_await c->stream.socket().async_receive(net::buffer(&b, 1),
                                                             tcp::socket::message_peek, kTuple);
    if (sig->finished) co_return;
    if (ec || n == 0) {
      sig->gone = true;
      sig->timer.cancel();
    }
  }

  // Runs a started job to the end: SSE or one JSON body. Returns keep-alive.
  awaitable<bool> RunJob(std::shared_ptr<Conn> c, std::unique_ptr<Job> job,
                         std::shared_ptr<Signal> sig, const std::string& rid, bool keep,
                         int* status, Job::Summary* summary) {
    *status = 200;
    net::co_spawn(c->stream.get_executor(), Watch(c, sig), net::detached);
    const auto deadline = Clock::now() + std::chrono::seconds(opt.request_timeout_s);
    const auto keepalive = std::chrono::seconds(opt.keepalive_interval_s);
    bool ok = true;
    auto wait = [&](Clock::duration d) -> awaitable<bool> {  // true: timed out
      sig->timer.expires_after(d);
      auto [ec] = co_await sig->timer.async_wait(kTuple);
      co_return !ec;
    };
    if (job->stream()) {
      http::response<http::empty_body> res{http::status::ok, 11};
      res.set(http::field::server, "seekd/" SEEKD_VERSION_STRING);
      res.set(http::field::content_type, "text/event-stream");
      res.set(http::field::cache_control, "no-cache");
      res.set("x-request-id", rid);
      res.keep_alive(keep);
      res.chunked(true);
      http::response_serializer<http::empty_body> sr{res};
      c->stream.expires_after(std::chrono::seconds(60));
      auto [ec, n] = co_await http::async_write_header(c->stream, sr, kTuple);
      c->stream.expires_never();
      ok = !ec;
      while (ok) {
        sig->pending = false;
        const std::string out = job->Poll();
        if (!out.empty()) ok = co_await WriteRaw(*c, net::buffer(out));
        if (!ok || job->done()) break;
        if (sig->gone || sig->cancel) {
          ok = !sig->gone;
          break;
        }
        if (Clock::now() >= deadline) {
          job->Cancel();
          const std::string e = job->StreamError(TimeoutError());
          ok = co_await WriteRaw(*c, net::buffer(e));
          break;
        }
        if (sig->pending) continue;
        const auto left = deadline - Clock::now();
        if (co_await wait(std::min<Clock::duration>(keepalive, left)) && !sig->pending &&
            !sig->gone && Clock::now() < deadline) {
          static constexpr std::string_view kKeepAlive = ": keep-alive\n\n";
          ok = co_await WriteRaw(*c, net::buffer(kKeepAlive));
        }
      }
      if (sig->cancel && ok && !job->done()) {
        job->Cancel();
        const std::string e = job->StreamError(api::Overloaded("The server is shutting down"));
        ok = co_await WriteRaw(*c, net::buffer(e));
      }
      if (ok) {
        c->stream.expires_after(std::chrono::seconds(60));
        auto [ec2, n2] = co_await net::async_write(c->stream, http::make_chunk_last(), kTuple);
        c->stream.expires_never();
        ok = !ec2;
      }
    } else {
      Reply reply;
      for (;;) {
        sig->pending = false;
        job->Poll();
        if (job->done()) {
          reply = Reply{200, job->Body(), "application/json", {}};
          if (reply.body.rfind("{\"error\"", 0) == 0) reply.status = 500;
          break;
        }
        if (sig->gone) {
          ok = false;
          break;
        }
        if (sig->cancel) {
          reply = Error(api::Overloaded("The server is shutting down"));
          break;
        }
        if (Clock::now() >= deadline) {
          reply = Error(TimeoutError());
          break;
        }
        if (sig->pending) continue;
        co_await wait(deadline - Clock::now());
      }
      *status = ok ? reply.status : 499;  // 499: the client closed the request
      if (ok) ok = co_await Write(*c, reply, rid, keep);
    }
    if (sig->gone) *status = 499;
    sig->finished = true;
    sig->Close();
    *summary = job->summary();
    job.reset();  // cancels whatever still runs (client gone, timeout, shutdown)
    beast::error_code ignored;
    c->stream.socket().cancel(ignored);  // ends the watch
    co_return ok&& keep;
  }

  std::shared_ptr<ModelEntry> FindModel(const std::string& name, api::ApiError* err) {
    return server::FindModel(*models, name, err);
  }
  Reply Models(const std::string& one) { return ModelsReply(*models, one); }
  Reply Tokenize(const ojson& body, const std::string& header_model) {
    return TokenizeReply(*models, body, header_model);
  }
  Reply Detokenize(const ojson& body, const std::string& header_model) {
    return DetokenizeReply(*models, body, header_model);
  }

  // What a request turned into before anything is awaited (plain code: GCC 12 mishandles some
  // initializers inside coroutines).
  struct Routed {
    std::string rid;
    bool keep = false;
    std::optional<Reply> reply;
    std::unique_ptr<Job> job;
    std::shared_ptr<Signal> sig;
    std::string load_name, load_path;  // admin load
    // For metrics and the request log.
    std::string endpoint = "other", model, key_id, method, path;
  };

  Routed Route(Conn& c, const http::request<http::string_body>& req) {
    Routed out;
    out.rid = RequestId(req);
    out.keep = req.keep_alive() && !draining;
    std::string path(req.target().data(), req.target().size());
    if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
    out.method = std::string(req.method_string());
    out.path = path.substr(0, 200);

    if (path.rfind("/beta/", 0) == 0) path.erase(0, 5);
    if (path.rfind("/v1/", 0) == 0) path.erase(0, 3);
    const auto method = req.method();
    out.endpoint = EndpointLabel(path);
    auto reply = [&](Reply r) -> Routed {
      out.reply = std::move(r);
      return std::move(out);
    };

    if (path == "/health") return reply(Json({{"status", "ok"}}));
    auto auth_failed = [&](const char* reason) {
      if (opt.metrics) opt.metrics->auth_failures.Inc({reason});
    };
    if (draining) {
      out.keep = false;
      return reply(Error(api::Overloaded("The server is shutting down")));
    }
    const bool admin = path.rfind("/admin/", 0) == 0;
    if (admin) {
      if (opt.admin_token.empty())
        return reply(Error(api::RouteNotFound(std::string(req.method_string()), path)));
      if (!security::ConstantTimeEqual(BearerToken(req), opt.admin_token)) {
        auth_failed("admin_token");
        return reply(Error(api::Unauthorized("A valid admin token is required")));
      }
    } else if (auth->enabled()) {
      security::HeaderList headers;
      for (const auto& f : req)
        headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
      const AuthOutcome who =
          auth->Check(std::string_view(req.method_string().data(), req.method_string().size()),
                      std::string_view(req.target().data(), req.target().size()), headers,
                      req.body(), std::chrono::system_clock::now());
      if (!who.ok) {
        auth_failed(who.reason.c_str());
        return reply(Error(api::Unauthorized(who.message)));
      }
      out.key_id = who.key_id;
    }
    if (limiter->enabled() && !admin &&
        !(method == http::verb::get && (path == "/ready" || path == "/metrics"))) {
      std::string caller = out.key_id;
      if (caller.empty()) {
        beast::error_code pec;
        const auto peer = c.stream.socket().remote_endpoint(pec);
        caller = "ip:" + (pec ? std::string("?") : peer.address().to_string());
      }
      const auto d = limiter->Take(caller, std::chrono::steady_clock::now());
      if (!d.ok) {
        if (opt.metrics) opt.metrics->rate_limited.Inc({});
        return reply(Error(api::RateLimited(fmt::format(
                               "Rate limit reached ({} requests per minute); retry in {:.1f} s",
                               opt.rate_limit_rpm, d.retry_after_s)),
                           d.retry_after_s));
      }
    }
    // Usage is charged to the key id, or to "anonymous" on a server without credentials.
    const std::string payer = out.key_id.empty() ? "anonymous" : out.key_id;
    const auto now = std::chrono::system_clock::now();
    if (method == http::verb::get) {
      if (path == "/usage") return reply(Json(quotas->UsageJson(payer, now)));
      if (path == "/user/balance") return reply(Json(quotas->BalanceJson(payer, now)));
      if (path == "/admin/usage") return reply(Json(quotas->AllUsageJson(now)));
    }
    std::string header_model;
    if (auto it = req.find("DeepSeek-Model"); it != req.end())
      header_model = std::string(it->value());

    if (method == http::verb::get) {
      if (path == "/ready") {
        ojson ms = ojson::array();
        for (const auto& m : models->List())
          ms.push_back(
              {{"name", m->name}, {"engine", ojson::parse(StatsJson(m->engine->stats()))}});
        ojson j = {{"status", models->empty() ? "loading" : "ready"},
                   {"active_requests", active.load()},
                   {"models", ms}};
        Reply r = Json(j);
        if (models->empty()) r.status = 503;
        return reply(r);
      }
      if (path == "/metrics" && opt.metrics)
        return reply(Reply{
            200, opt.metrics->registry.Expose(), "text/plain; version=0.0.4; charset=utf-8", {}});
      if (path == "/models") return reply(Models(""));
      if (path.rfind("/models/", 0) == 0) return reply(Models(path.substr(8)));
    }
    const bool gen = path == "/chat/completions" || path == "/completions";
    const bool known = gen || path == "/tokenize" || path == "/detokenize" ||
                       path == "/admin/models" || path.rfind("/admin/models/", 0) == 0 ||
                       path == "/models" || path == "/ready" || path == "/usage" ||
                       path == "/user/balance" || path == "/admin/usage";
    if (!known) return reply(Error(api::RouteNotFound(std::string(req.method_string()), path)));
    if (gen && method == http::verb::post && quotas->enabled()) {
      const Quotas::Decision d = quotas->Check(payer, now);
      if (!d.ok) {
        if (opt.metrics) opt.metrics->quota_rejections.Inc({});
        return reply(Error(api::InsufficientQuota(d.message)));
      }
      if (!d.message.empty()) std::cerr << "seekd serve: " << d.message << "\n";
    }
    if (method == http::verb::delete_ && path.rfind("/admin/models/", 0) == 0) {
      const Status st = models->Unload(path.substr(14));
      return reply(st.ok() ? Json({{"unloaded", path.substr(14)}})
                           : Error(api::FromStatus(st, "name")));
    }
    if (method != http::verb::post)
      return reply(
          Error({405, "invalid_request_error",
                 "Method " + std::string(req.method_string()) + " is not allowed on " + path, "",
                 "method_not_allowed"}));
    auto parsed = api::ParseBody(req.body());
    if (auto* e = std::get_if<api::ApiError>(&parsed)) return reply(Error(*e));
    const ojson& body = std::get<ojson>(parsed);
    if (path == "/tokenize") return reply(Tokenize(body, header_model));
    if (path == "/detokenize") return reply(Detokenize(body, header_model));
    if (path == "/admin/models") {
      out.load_path = api::StringField(body, "path");
      out.load_name = api::StringField(
          body, "name", out.load_path.empty() ? "" : DefaultModelName(out.load_path));
      if (out.load_path.empty()) return reply(Error(api::Malformed("path is required")));
      return out;
    }

    // Generation.
    auto sig = std::make_shared<Signal>(c.stream.get_executor());
    auto notify = [sig] { sig->Notify(sig); };
    api::ApiResult<std::unique_ptr<Job>> job = api::ApiError{};
    if (path == "/chat/completions") {
      auto r = api::ParseChatRequest(body, header_model);
      if (auto* e = std::get_if<api::ApiError>(&r)) return reply(Error(*e));
      const auto& cr = std::get<api::ChatRequest>(r);
      out.model = cr.gen.model;
      api::ApiError err;
      auto m = FindModel(cr.gen.model, &err);
      if (!m) return reply(Error(err));
      job = Job::StartChat(m, cr, notify);
    } else {
      auto r = api::ParseCompletionRequest(body, header_model);
      if (auto* e = std::get_if<api::ApiError>(&r)) return reply(Error(*e));
      const auto& cr = std::get<api::CompletionRequest>(r);
      out.model = cr.gen.model;
      api::ApiError err;
      auto m = FindModel(cr.gen.model, &err);
      if (!m) return reply(Error(err));
      job = Job::StartCompletion(m, cr, notify);
    }
    if (auto* e = std::get_if<api::ApiError>(&job)) {
      sig->Close();
      if (e->status == 503 && opt.metrics) opt.metrics->admission_rejections.Inc({out.model});
      return reply(Error(*e));
    }
    out.job = std::move(std::get<std::unique_ptr<Job>>(job));
    out.sig = std::move(sig);
    return out;
  }

  // A coroutine with its arguments in its own frame (a capturing lambda coroutine would refer to
  // a lambda object that is gone by the time it runs).
  static awaitable<Status> LoadModel(ModelRegistry* registry, std::string name, std::string path,
                                     ModelOptions mo) {
    co_return registry->Load(name, path, mo);
  }

  Reply LoadReply(const Status& st, const std::string& name) {
    return st.ok() ? Json({{"loaded", name}}) : Error(api::FromStatus(st, "path"));
  }

  // One request; returns keep-alive.
  awaitable<bool> Handle(std::shared_ptr<Conn> c, http::request<http::string_body>& req) {
    const auto start = Clock::now();
    Routed r = Route(*c, req);
    int status = 0;
    Job::Summary summary;
    bool keep = false;
    if (r.reply) {
      status = r.reply->status;
      keep = co_await Write(*c, *r.reply, r.rid, r.keep);
    } else if (!r.job) {
      // Loading reads the whole file: do it off the network threads.
      const std::string name = r.load_name, path = r.load_path;
      const ModelOptions mo = opt.model_defaults;
      Status st =
          co_await net::co_spawn(blocking, LoadModel(models, name, path, mo), net::use_awaitable);
      const Reply rep = LoadReply(st, name);
      status = rep.status;
      keep = co_await Write(*c, rep, r.rid, r.keep);
    } else {
      ++active;
      c->sig = r.sig;
      keep = co_await RunJob(c, std::move(r.job), r.sig, r.rid, r.keep, &status, &summary);
      c->sig.reset();
      --active;
    }
    Record(r, status, summary, std::chrono::duration<double>(Clock::now() - start).count());
    co_return keep;
  }

  // Metrics and the request log line for one finished request.
  void Record(const Routed& r, int status, const Job::Summary& s, double seconds) {
    const std::string cls = status >= 500   ? "5xx"
                            : status >= 400 ? "4xx"
                            : status >= 300 ? "3xx"
                                            : "2xx";
    const std::string model = !s.model.empty() ? s.model : (models->Get(r.model) ? r.model : "");
    if (!s.model.empty()) {  // a generation ran: its tokens count, whatever its status
      store::TokenUsage u{1, s.prompt_tokens, s.cached_tokens, s.completion_tokens};
      const Status st = ledger->Charge(r.key_id.empty() ? "anonymous" : r.key_id, u,
                                       std::chrono::system_clock::now());
      if (!st.ok()) std::cerr << "seekd serve: " << st.ToString() << "\n";
    }
    if (opt.metrics) {
      ServerMetrics& m = *opt.metrics;
      m.requests.Inc({model, r.endpoint, cls});
      m.e2e.Observe({model, r.endpoint}, seconds);
      if (!s.model.empty()) {
        m.queue.Observe({model}, s.queue_s);
        if (s.ttft_s >= 0) {
          m.ttft.Observe({model}, s.ttft_s);
          m.prefill.Observe({model}, s.prefill_s);
        }
        if (s.first_completion_tokens > 1 && s.ttft_s >= 0)
          m.tpot.Observe(
              {model}, (s.total_s - s.ttft_s) / static_cast<double>(s.first_completion_tokens - 1));
      }
    }
    if (r.endpoint == "health" || r.endpoint == "metrics" || r.endpoint == "ready") return;
    obs::RequestRecord rec;
    rec.request_id = r.rid;
    rec.key_id = r.key_id;
    rec.method = r.method;
    rec.path = r.path;
    rec.endpoint = r.endpoint;
    rec.model = model;
    rec.status = status;
    rec.prompt_tokens = s.prompt_tokens;
    rec.cached_tokens = s.cached_tokens;
    rec.completion_tokens = s.completion_tokens;
    rec.ttft_s = s.ttft_s;
    rec.total_s = seconds;
    rec.finish_reason = s.finish_reason;
    if (r.reply && status >= 400) {
      const auto j = ojson::parse(r.reply->body, nullptr, false);
      if (j.is_object() && j.contains("error")) rec.error = api::StringField(j["error"], "code");
    }
    obs::LogRequest(rec);
  }

  awaitable<void> Session(std::shared_ptr<Conn> c) {
    for (;;) {
      // Wait for the first byte of the next request (idle), then give the whole request
      // header_timeout_s to arrive.
      if (c->buf.size() == 0) {
        c->stream.expires_after(std::chrono::seconds(opt.idle_timeout_s));
        auto [ec, n] = co_await c->stream.async_read_some(c->buf.prepare(4096), kTuple);
        if (ec) break;
        c->buf.commit(n);
      }
      c->busy = true;
      http::request_parser<http::string_body> parser;
      parser.header_limit(32 * 1024);
      parser.body_limit(opt.max_body_bytes);
      c->stream.expires_after(std::chrono::seconds(opt.header_timeout_s));
      auto [ec, n] = co_await http::async_read(c->stream, c->buf, parser, kTuple);
      c->stream.expires_never();
      if (ec == http::error::end_of_stream) break;
      if (ec) {
        const std::string rid = api::NewId("req");
        if (ec == http::error::body_limit) {
          co_await Write(*c, Error(api::BodyTooLarge(opt.max_body_bytes)), rid, false);
        } else if (ec == http::error::header_limit) {
          co_await Write(*c, Error(HeadersTooLarge()), rid, false);
        } else if (ec == beast::error::timeout) {
          co_await Write(*c, Error(RequestTimeout()), rid, false);
        } else if (ec != net::error::eof && ec != net::error::connection_reset) {
          co_await Write(*c, Error(api::Malformed("Malformed HTTP request: " + ec.message())), rid,
                         false);
        }
        break;
      }
      http::request<http::string_body> req = parser.release();
      bool keep = false;
      std::string failure;
      try {
        keep = co_await Handle(c, req);
      } catch (const std::exception& e) {
        failure = e.what();
      }
      if (!failure.empty()) {
        // A bug or a library exception: one 500 in the API's shape, and the connection closes.
        co_await Write(*c, Error(api::ServerError(failure)), api::NewId("req"), false);
        keep = false;
      }
      c->busy = false;
      if (!keep || draining) break;
    }
    beast::error_code ignored;
    c->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    c->stream.close();
    {
      std::lock_guard<std::mutex> lock(conns_mu);
      conns.erase(c);
    }
    --connections;
    if (opt.metrics) --opt.metrics->open_connections;
  }

  awaitable<void> Listen() {
    for (;;) {
      auto [ec, sock] = co_await acceptor.async_accept(net::make_strand(ioc), kTuple);
      if (ec) {
        if (!acceptor.is_open()) co_return;
        if (ec == net::error::no_descriptors) {  // out of file descriptors: back off
          net::steady_timer t(ioc, std::chrono::milliseconds(50));
          co_await t.async_wait(kTuple);
        }
        continue;
      }
      beast::error_code ignored;
      sock.set_option(tcp::no_delay(true), ignored);
      if (connections.load() >= opt.max_connections) {
        // Over the limit: a short 503 and close, without a coroutine of its own.
        static const std::string kBusy =
            "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
            "Retry-After: 1\r\nConnection: close\r\nContent-Length: " +
            std::to_string(api::Overloaded("Too many open connections").Body().size()) +
            "\r\n\r\n" + api::Overloaded("Too many open connections").Body();
        net::write(sock, net::buffer(kBusy), ignored);
        sock.close(ignored);
        continue;
      }
      ++connections;
      if (opt.metrics) ++opt.metrics->open_connections;
      auto c = std::make_shared<Conn>(std::move(sock));
      {
        std::lock_guard<std::mutex> lock(conns_mu);
        conns.insert(c);
      }
      net::co_spawn(c->stream.get_executor(), Session(c), net::detached);
    }
  }

  void Shutdown() {
    std::call_once(shutdown_once, [this] {
      draining = true;
      net::post(ioc, [this] {
        beast::error_code ignored;
        acceptor.close(ignored);
      });
      // Idle keep-alive connections close now; busy ones after their answer.
      auto close_idle = [this] {
        std::lock_guard<std::mutex> lock(conns_mu);
        for (const auto& c : conns)
          net::post(c->stream.get_executor(), [c] {
            if (!c->busy) {
              beast::error_code ignored;
              c->stream.socket().cancel(ignored);
            }
          });
      };
      close_idle();
      const auto deadline = Clock::now() + std::chrono::seconds(opt.shutdown_grace_s);
      while (active.load() > 0 && Clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      {
        // Past the grace period: cancel what still runs.
        std::lock_guard<std::mutex> lock(conns_mu);
        for (const auto& c : conns)
          net::post(c->stream.get_executor(), [c] {
            if (c->sig) {
              c->sig->cancel = true;
              c->sig->timer.cancel();
            }
          });
      }
      const auto hard = Clock::now() + std::chrono::seconds(5);
      while (connections.load() > 0 && Clock::now() < hard) {
        close_idle();
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
      ioc.stop();
      for (auto& t : threads)
        if (t.joinable()) t.join();
      blocking.join();
    });
  }
};

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() {
  try {
    impl_->Shutdown();
  } catch (const std::exception& e) {
    std::cerr << "seekd serve: shutdown: " << e.what() << "\n";
  }
}

int Server::port() const { return impl_->acceptor.local_endpoint().port(); }

void Server::Shutdown() { impl_->Shutdown(); }

Result<std::unique_ptr<Server>> Server::Start(ServerOptions options, ModelRegistry* models) {
  auto impl = std::make_unique<Impl>();
  impl->opt = std::move(options);
  impl->models = models;
  auto auth = Authenticator::Create(impl->opt.auth);
  if (!auth.ok()) return auth.status();
  impl->auth = std::move(*auth);
  impl->limiter = std::make_unique<RateLimiter>(impl->opt.rate_limit_rpm);
  if (impl->opt.quotas.enabled() && !impl->auth->enabled())
    return InvalidArgument(
        "token quotas are per key: they need credentials (--api-key, --access-key or "
        "--jwt-secret)");
  auto ledger = store::UsageLedger::Open(impl->opt.usage_db);
  if (!ledger.ok()) return ledger.status();
  impl->ledger = std::move(*ledger);
  impl->quotas = std::make_unique<Quotas>(impl->opt.quotas, impl->ledger.get());
  beast::error_code ec;
  const auto addr = net::ip::make_address(impl->opt.host, ec);
  if (ec) return InvalidArgument("--host " + impl->opt.host + " is not an IP address");
  const tcp::endpoint ep(addr, static_cast<uint16_t>(impl->opt.port));
  impl->acceptor.open(ep.protocol(), ec);
  if (!ec) impl->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(ep, ec);
  if (!ec) impl->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return IoError(
        fmt::format("cannot listen on {}:{}: {}", impl->opt.host, impl->opt.port, ec.message()));
  Impl* s = impl.get();
  net::co_spawn(s->ioc, s->Listen(), net::detached);
  for (int i = 0; i < std::max(1, s->opt.io_threads); ++i)
    s->threads.emplace_back([s] { s->ioc.run(); });
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

void Server::WaitForSignal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int sig = 0;
  sigwait(&set, &sig);
  std::cerr << "seekd serve: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ": finishing running requests\n";
  impl_->Shutdown();
}

}  // namespace seekd::server
