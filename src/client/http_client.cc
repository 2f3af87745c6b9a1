#include "client/http_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>

#include "client/transport.h"
#include "security/crypto.h"
#include "security/request_signing.h"

namespace seekd::client {

namespace {

using Clock = std::chrono::steady_clock;
using SysClock = std::chrono::system_clock;

constexpr size_t kMaxResponseBytes = 256u << 20;  // a body beyond this is cut off as an error
constexpr size_t kReaderBuffer = 256;             // deltas a reader holds before reading pauses

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// One call: its request, and the state of its current attempt (reached from curl callbacks).
struct CallState {
  std::string method, path, body;
  bool stream = false;
  EventFn on_event;                  // stream only; runs on the I/O thread
  std::function<bool()> can_accept;  // stream only, optional: false pauses reading
  std::function<void(Response)> done;
  std::string idempotency_key;
  Clock::time_point start;
  int attempt = 0;
  bool cancelled = false;  // I/O thread only
  bool finished = false;   // I/O thread only: done has been called

  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  Response r;
  api::SseParser sse;
  bool stopped_by_caller = false;
  bool too_big = false;
  std::function<void()> on_pause;  // told when reading paused (the reader resumes it)

  static size_t OnHeader(char* data, size_t size, size_t n, void* self) {
    auto* c = static_cast<CallState*>(self);
    std::string_view line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
      c->r.headers.clear();  // a new response (after 100 Continue or a redirect)
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
        v.remove_suffix(1);
      c->r.headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
    }
    return size * n;
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* self) {
    auto* c = static_cast<CallState*>(self);
    const size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    if (c->stream && status >= 200 && status < 300) {
      if (c->can_accept && !c->can_accept()) {
        if (c->on_pause) c->on_pause();
        return CURL_WRITEFUNC_PAUSE;  // curl keeps these bytes and offers them again
      }
      c->r.stream_started = true;
      for (const api::SseEvent& e : c->sse.Feed(std::string_view(data, len))) {
        if (!c->on_event(e)) {
          c->stopped_by_caller = true;
          return 0;  // ends the transfer
        }
      }
      return len;
    }
    if (c->r.body.size() + len > kMaxResponseBytes) {
      c->too_big = true;
      return 0;
    }
    c->r.body.append(data, len);
    return len;
  }
};

// base_url split into what requests need: the Host value and the path prefix ("/v1").
void SplitUrl(const std::string& url, std::string* host, std::string* prefix) {
  size_t p = url.find("://");
  p = p == std::string::npos ? 0 : p + 3;
  const size_t slash = url.find('/', p);
  *host = url.substr(p, slash == std::string::npos ? std::string::npos : slash - p);
  if (const size_t at = host->rfind('@'); at != std::string::npos) host->erase(0, at + 1);
  *prefix = slash == std::string::npos ? "" : url.substr(slash);
}

JsonResult ToJson(const Response& r) {
  if (r.status < 200 || r.status >= 300 || !r.error.empty()) return Client::ErrorOf(r);
  auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return api::ApiError{r.status, "invalid_response", "The response is not JSON", "",
                         "malformed_response"};
  return j;
}

StreamResult ToStream(const Response& r, const api::ChatStreamAccumulator& acc) {
  if (!r.stream_started && (r.status < 200 || r.status >= 300 || !r.error.empty()))
    return Client::ErrorOf(r);
  if (acc.error()) return *acc.error();
  if (!acc.done())
    return api::ApiError{r.status, "connection_error",
                         "The stream ended before [DONE]" + (r.error.empty() ? "" : ": " + r.error),
                         "", "incomplete_stream"};
  return acc;
}

}  // namespace

struct Client::Impl {
  ClientOptions opt;
  std::string host, prefix;
  std::atomic<bool> closing{false};

  std::mutex transport_mu;  // guards the pointer (taken away at close), not the transport
  std::unique_ptr<Transport> transport;
  Transport* io = nullptr;  // the same transport, for I/O-thread code: valid until it is gone

  // I/O thread only.
  int in_flight = 0;
  std::deque<std::shared_ptr<CallState>> queue;
  std::mt19937_64 rng{std::random_device{}()};
  std::string jwt;
  SysClock::time_point jwt_renew{};

  bool Post(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(transport_mu);
    if (!transport) return false;
    transport->Post(std::move(fn));
    return true;
  }

  void Submit(std::shared_ptr<CallState> c) {
    c->start = Clock::now();
    c->idempotency_key = "seekd-" + security::RandomHex(16);
    auto keep = c;
    if (!Post([this, c = std::move(c)]() mutable { Enqueue(std::move(c)); })) {
      Response r;
      r.error = "the client is closed";
      keep->done(std::move(r));
    }
  }

  void Enqueue(std::shared_ptr<CallState> c) {
    if (in_flight >= opt.max_concurrency) {
      queue.push_back(std::move(c));
      return;
    }
    ++in_flight;
    StartAttempt(c);
  }

  void Finish(const std::shared_ptr<CallState>& c) {
    c->finished = true;
    --in_flight;
    auto done = std::move(c->done);
    c->on_event = nullptr;
    c->can_accept = nullptr;
    c->on_pause = nullptr;
    done(std::move(c->r));
    while (in_flight < opt.max_concurrency && !queue.empty()) {
      auto next = std::move(queue.front());
      queue.pop_front();
      ++in_flight;
      StartAttempt(next);
    }
  }

  void FinishWithError(const std::shared_ptr<CallState>& c, std::string error) {
    c->r = Response{};
    c->r.attempts = c->attempt;
    c->r.error = std::move(error);
    Finish(c);
  }

  // Authorization (and, for signatures, the signed headers) for one attempt.
  curl_slist* AuthHeaders(const CallState& c, curl_slist* h) {
    if (!opt.access_key.empty()) {
      for (const auto& [k, v] :
           security::SignRequest(opt.access_key, opt.secret_key, c.method, prefix + c.path, host,
                                 c.body, SysClock::now()))
        h = curl_slist_append(h, (k + ": ").append(v).c_str());
    } else if (!opt.jwt_secret.empty()) {
      const auto now = SysClock::now();
      if (jwt.empty() || now >= jwt_renew) {
        auto t = security::MintJwt(opt.jwt_secret, opt.jwt_claims, now);
        jwt = t.ok() ? *t : "";
        // Renewed once 80% of its life has passed, so a token never expires mid-flight.
        jwt_renew =
            now + std::chrono::duration_cast<SysClock::duration>(opt.jwt_claims.ttl * 4 / 5);
      }
      if (!jwt.empty()) h = curl_slist_append(h, ("Authorization: Bearer " + jwt).c_str());
    } else if (!opt.api_key.empty()) {
      h = curl_slist_append(h, ("Authorization: Bearer " + opt.api_key).c_str());
    }
    return h;
  }

  void StartAttempt(const std::shared_ptr<CallState>& c) {
    if (c->finished) return;  // cancelled while it waited to retry
    if (c->cancelled || closing)
      return FinishWithError(c, c->cancelled ? "cancelled" : "the client is closed");
    double timeout = opt.attempt_timeout_s;
    if (opt.total_timeout_s > 0) {
      const double left = opt.total_timeout_s - Seconds(Clock::now() - c->start);
      if (left <= 0) return FinishWithError(c, "total timeout reached");
      timeout = std::min(timeout, left);
    }
    c->r = Response{};
    c->r.attempts = ++c->attempt;
    c->sse = api::SseParser();
    c->stopped_by_caller = c->too_big = false;
    CURL* e = curl_easy_init();
    c->easy = e;
    curl_slist* h = nullptr;
    h = curl_slist_append(h, "Content-Type: application/json");
    h = curl_slist_append(h, c->stream ? "Accept: text/event-stream" : "Accept: application/json");
    if (c->method != "GET")
      h = curl_slist_append(h, ("Idempotency-Key: " + c->idempotency_key).c_str());
    h = curl_slist_append(h, ("X-Retry-Count: " + std::to_string(c->attempt - 1)).c_str());
    h = AuthHeaders(*c, h);
    c->headers = h;
    const std::string url = opt.base_url + c->path;
    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, c->method.c_str());
    if (c->method != "GET") {
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->body.data());
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c->body.size()));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_USERAGENT, opt.user_agent.c_str());
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);  // h2 over TLS when offered
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);  // prefer multiplexing on an h2 connection
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(opt.connect_timeout_s * 1000));
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, std::max(1L, static_cast<long>(timeout * 1000)));
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &CallState::OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, c.get());
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CallState::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, c.get());
    io->Start(e, [this, c](int code) { AttemptDone(c, static_cast<CURLcode>(code)); });
  }

  void AttemptDone(const std::shared_ptr<CallState>& c, CURLcode code) {
    long status = 0;
    curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c->easy);
    c->easy = nullptr;
    curl_slist_free_all(c->headers);
    c->headers = nullptr;
    Response& r = c->r;
    r.status = static_cast<int>(status);
    if (code != CURLE_OK && !c->stopped_by_caller) {
      r.error = c->too_big
                    ? "the response exceeds " + std::to_string(kMaxResponseBytes >> 20) + " MiB"
                : c->cancelled || code == CURLE_ABORTED_BY_CALLBACK
                    ? (closing ? "the client is closed" : "cancelled")
                    : curl_easy_strerror(code);
      // A response cut short is no response, unless a stream had already begun.
      if (!r.stream_started) r.status = 0;
    }
    const bool ok = r.error.empty() && r.status >= 200 && r.status < 300;
    if (ok || c->cancelled || closing || c->too_big || c->attempt > opt.retry.max_retries ||
        !ShouldRetry(r.status, r.headers, r.stream_started))
      return Finish(c);
    const double jitter = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    const double delay = RetryDelay(opt.retry, c->attempt - 1, r.headers, SysClock::now(), jitter);
    if (opt.total_timeout_s > 0 && Seconds(Clock::now() - c->start) + delay > opt.total_timeout_s)
      return Finish(c);
    io->PostAfter(delay, [this, c] { StartAttempt(c); });
  }

  // Runs on the I/O thread: cancels the call wherever it is (queued, waiting, running).
  void Cancel(const std::shared_ptr<CallState>& c) {
    if (c->finished || c->cancelled) return;
    c->cancelled = true;
    if (c->easy) return io->Abort(c->easy);  // → AttemptDone → Finish
    if (auto it = std::find(queue.begin(), queue.end(), c); it != queue.end()) {
      queue.erase(it);
      ++in_flight;  // Finish counts it out
    }
    FinishWithError(c, "cancelled");  // queued, or waiting to retry (the timer then does nothing)
  }

  void Unpause(const std::shared_ptr<CallState>& c) {
    if (c->easy && !closing) io->Unpause(c->easy);
  }
};

Client::Client(ClientOptions options) : impl_(std::make_shared<Impl>()) {
  impl_->opt = std::move(options);
  auto& o = impl_->opt;
  while (!o.base_url.empty() && o.base_url.back() == '/') o.base_url.pop_back();
  if (o.max_concurrency < 1) o.max_concurrency = 1;
  SplitUrl(o.base_url, &impl_->host, &impl_->prefix);
  impl_->transport = std::make_unique<Transport>(o.max_concurrency);
  impl_->io = impl_->transport.get();
}

Client::~Client() {
  impl_->closing = true;
  std::unique_ptr<Transport> t;
  {
    std::lock_guard<std::mutex> lock(impl_->transport_mu);
    t = std::move(impl_->transport);  // no new work can be posted
  }
  // The transport's destructor stops its thread, aborts running transfers and runs pending
  // work, so every call in progress hears "the client is closed"; then the queue empties.
  t.reset();
  while (!impl_->queue.empty()) {
    auto c = std::move(impl_->queue.front());
    impl_->queue.pop_front();
    ++impl_->in_flight;
    impl_->FinishWithError(c, "the client is closed");
  }
}

Response Client::Wait(const std::function<void(std::function<void(Response)>)>& start) {
  {
    std::lock_guard<std::mutex> lock(impl_->transport_mu);
    if (impl_->transport && impl_->transport->OnLoopThread()) {
      Response r;
      r.error = "a blocking call from a client callback would deadlock; use the Async form";
      return r;
    }
  }
  auto p = std::make_shared<std::promise<Response>>();
  auto f = p->get_future();
  start([p](Response r) { p->set_value(std::move(r)); });
  return f.get();
}

void Client::PostJsonAsync(std::string_view path, const nlohmann::json& body,
                           std::function<void(Response)> done) {
  auto c = std::make_shared<CallState>();
  c->method = "POST";
  c->path = std::string(path);
  c->body = body.dump();
  c->done = std::move(done);
  impl_->Submit(std::move(c));
}

void Client::PostStreamAsync(std::string_view path, const nlohmann::json& body, EventFn on_event,
                             std::function<void(Response)> done) {
  auto c = std::make_shared<CallState>();
  c->method = "POST";
  c->path = std::string(path);
  c->body = body.dump();
  c->stream = true;
  c->on_event = std::move(on_event);
  c->done = std::move(done);
  impl_->Submit(std::move(c));
}

Response Client::PostJson(std::string_view path, const nlohmann::json& body) {
  return Wait(
      [&](std::function<void(Response)> done) { PostJsonAsync(path, body, std::move(done)); });
}

Response Client::Get(std::string_view path) {
  return Wait([&](std::function<void(Response)> done) {
    auto c = std::make_shared<CallState>();
    c->method = "GET";
    c->path = std::string(path);
    c->done = std::move(done);
    impl_->Submit(std::move(c));
  });
}

Response Client::PostStream(std::string_view path, const nlohmann::json& body,
                            const EventFn& on_event) {
  return Wait([&](std::function<void(Response)> done) {
    PostStreamAsync(path, body, on_event, std::move(done));
  });
}

api::ApiError Client::ErrorOf(const Response& r) {
  if (r.status == 0)
    return {0, "connection_error", r.error.empty() ? "no response" : r.error, "",
            "connection_error"};
  const auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    auto str = [&](const char* k) {
      return e.contains(k) && e[k].is_string() ? e[k].get<std::string>() : std::string();
    };
    return {r.status, str("type"), str("message"), str("param"), str("code")};
  }
  return {r.status, "api_error", "HTTP " + std::to_string(r.status), "", ""};
}

JsonResult Client::Chat(nlohmann::json request) {
  request["stream"] = false;
  return ToJson(PostJson("/chat/completions", request));
}

JsonResult Client::Completion(nlohmann::json request) {
  request["stream"] = false;
  return ToJson(PostJson("/completions", request));
}

namespace {
// An SSE handler that assembles chunks and reports each delta; stops at an error event.
EventFn Assembler(std::shared_ptr<api::ChatStreamAccumulator> acc, DeltaFn on_delta) {
  return [acc = std::move(acc), on_delta = std::move(on_delta)](const api::SseEvent& e) {
    for (const auto& d : acc->Add(e.data))
      if (on_delta) on_delta(d);
    return !acc->error();  // after [DONE], read to the end so the server sees a clean finish
  };
}
}  // namespace

StreamResult Client::ChatStream(nlohmann::json request, const DeltaFn& on_delta) {
  request["stream"] = true;
  auto acc = std::make_shared<api::ChatStreamAccumulator>();
  const Response r = PostStream("/chat/completions", request, Assembler(acc, on_delta));
  return ToStream(r, *acc);
}

StreamResult Client::CompletionStream(nlohmann::json request, const DeltaFn& on_delta) {
  request["stream"] = true;
  auto acc = std::make_shared<api::ChatStreamAccumulator>();
  const Response r = PostStream("/completions", request, Assembler(acc, on_delta));
  return ToStream(r, *acc);
}

namespace {
CompletionResult Typed(const JsonResult& r) {
  if (const auto* e = std::get_if<api::ApiError>(&r)) return *e;
  auto c = api::ParseChatCompletion(std::get<nlohmann::json>(r));
  if (auto* e = std::get_if<api::ApiError>(&c); e && e->status == 0) e->status = 200;
  return c;
}
CompletionResult Typed(const StreamResult& r) {
  if (const auto* e = std::get_if<api::ApiError>(&r)) return *e;
  return api::FromStream(std::get<api::ChatStreamAccumulator>(r));
}
}  // namespace

CompletionResult Client::CreateChat(const api::ChatRequest& request) {
  return Typed(Chat(nlohmann::json(api::ToJson(request))));
}

CompletionResult Client::CreateCompletion(const api::CompletionRequest& request) {
  return Typed(Completion(nlohmann::json(api::ToJson(request))));
}

CompletionResult Client::CreateChatStream(const api::ChatRequest& request,
                                          const DeltaFn& on_delta) {
  return Typed(ChatStream(nlohmann::json(api::ToJson(request)), on_delta));
}

std::future<CompletionResult> Client::CreateChatAsync(const api::ChatRequest& request) {
  auto p = std::make_shared<std::promise<CompletionResult>>();
  auto f = p->get_future();
  ChatAsync(nlohmann::json(api::ToJson(request)),
            [p](const JsonResult& r) { p->set_value(Typed(r)); });
  return f;
}

void Client::ChatAsync(nlohmann::json request, std::function<void(JsonResult)> done) {
  request["stream"] = false;
  PostJsonAsync("/chat/completions", request,
                [done = std::move(done)](const Response& r) { done(ToJson(r)); });
}

std::future<JsonResult> Client::ChatAsync(nlohmann::json request) {
  auto p = std::make_shared<std::promise<JsonResult>>();
  auto f = p->get_future();
  ChatAsync(std::move(request), [p](JsonResult r) { p->set_value(std::move(r)); });
  return f;
}

std::future<StreamResult> Client::ChatStreamAsync(nlohmann::json request, DeltaFn on_delta) {
  request["stream"] = true;
  auto p = std::make_shared<std::promise<StreamResult>>();
  auto f = p->get_future();
  auto acc = std::make_shared<api::ChatStreamAccumulator>();
  PostStreamAsync("/chat/completions", request, Assembler(acc, std::move(on_delta)),
                  [p, acc](const Response& r) { p->set_value(ToStream(r, *acc)); });
  return f;
}

std::vector<JsonResult> Client::ChatBatch(const std::vector<nlohmann::json>& requests,
                                          int max_concurrency) {
  struct Batch {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<nlohmann::json> requests;
    size_t next = 0, finished = 0;
    std::vector<std::optional<JsonResult>> out;
  };
  {
    std::lock_guard<std::mutex> lock(impl_->transport_mu);
    if (impl_->transport && impl_->transport->OnLoopThread()) {
      Response r;
      r.error = "a blocking call from a client callback would deadlock; use ChatAsync";
      return std::vector<JsonResult>(requests.size(), ErrorOf(r));
    }
  }
  auto b = std::make_shared<Batch>();
  b->requests = requests;
  b->out.resize(requests.size());
  const int bound = max_concurrency > 0 ? max_concurrency : impl_->opt.max_concurrency;
  // `bound` lanes each run one request at a time and start the next when theirs finishes.
  struct Lane {
    static void Run(Client* client, const std::shared_ptr<Batch>& b) {
      size_t i;
      {
        std::lock_guard<std::mutex> lock(b->mu);
        if (b->next >= b->requests.size()) return;
        i = b->next++;
      }
      client->ChatAsync(b->requests[i], [client, b, i](JsonResult r) {
        bool last;
        {
          std::lock_guard<std::mutex> lock(b->mu);
          b->out[i] = std::move(r);
          last = ++b->finished == b->requests.size();
        }
        // Start the next before waking the caller: once woken it may destroy the client.
        if (!last) Run(client, b);
        b->cv.notify_all();
      });
    }
  };
  for (int k = 0; k < bound && static_cast<size_t>(k) < requests.size(); ++k) Lane::Run(this, b);
  std::unique_lock<std::mutex> lock(b->mu);
  b->cv.wait(lock, [&] { return b->finished == b->requests.size(); });
  std::vector<JsonResult> out;
  out.reserve(requests.size());
  for (auto& r : b->out) out.push_back(std::move(*r));
  return out;
}

// ---- pull-style streams ----

struct ChatStreamReader::State {
  std::weak_ptr<Client::Impl> client;
  std::shared_ptr<CallState> call;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<api::ChatStreamAccumulator::Delta> deltas;
  api::ChatStreamAccumulator acc;  // written on the I/O thread under mu
  bool paused = false, ended = false;
  bool draining = false;  // result() waits for the end: deltas are no longer kept
  std::optional<StreamResult> result;
};

ChatStreamReader::ChatStreamReader(std::shared_ptr<State> state) : state_(std::move(state)) {}

ChatStreamReader::~ChatStreamReader() {
  bool ended;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    ended = state_->ended;
  }
  if (!ended) {
    Cancel();
    result();  // the I/O thread is done with the state before it goes
  }
}

std::unique_ptr<ChatStreamReader> Client::OpenChatStream(nlohmann::json request) {
  request["stream"] = true;
  auto s = std::make_shared<ChatStreamReader::State>();
  s->client = impl_;
  auto c = std::make_shared<CallState>();
  c->method = "POST";
  c->path = "/chat/completions";
  c->body = request.dump();
  c->stream = true;
  s->call = c;
  ChatStreamReader::State* raw = s.get();
  c->can_accept = [raw] {
    std::lock_guard<std::mutex> lock(raw->mu);
    return raw->draining || raw->deltas.size() < kReaderBuffer;
  };
  c->on_pause = [raw] {
    std::lock_guard<std::mutex> lock(raw->mu);
    raw->paused = true;
  };
  c->on_event = [raw](const api::SseEvent& e) {
    bool go_on;
    {
      std::lock_guard<std::mutex> lock(raw->mu);
      for (auto& d : raw->acc.Add(e.data))
        if (!raw->draining) raw->deltas.push_back(std::move(d));
      go_on = !raw->acc.error();
    }
    raw->cv.notify_all();
    return go_on;
  };
  c->done = [s](const Response& r) {  // keeps the state alive until the I/O thread is done with it
    {
      std::lock_guard<std::mutex> lock(s->mu);
      s->result = ToStream(r, s->acc);
      s->ended = true;
    }
    s->cv.notify_all();
  };
  impl_->Submit(c);
  return std::make_unique<ChatStreamReader>(s);
}

std::optional<api::ChatStreamAccumulator::Delta> ChatStreamReader::Next() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  s.cv.wait(lock, [&] { return !s.deltas.empty() || s.ended; });
  if (s.deltas.empty()) return std::nullopt;
  auto d = std::move(s.deltas.front());
  s.deltas.pop_front();
  if (s.paused && s.deltas.size() < kReaderBuffer / 2) {
    s.paused = false;
    lock.unlock();
    if (auto impl = s.client.lock()) {
      auto call = s.call;
      impl->Post([impl, call] { impl->Unpause(call); });
    }
  }
  return d;
}

const StreamResult& ChatStreamReader::result() {
  State& s = *state_;
  std::unique_lock<std::mutex> lock(s.mu);
  if (!s.ended) {
    // Deltas not read yet are dropped from the buffer; the result still holds them all.
    s.draining = true;
    s.deltas.clear();
    if (s.paused) {
      s.paused = false;
      if (auto impl = s.client.lock()) {
        auto call = s.call;
        impl->Post([impl, call] { impl->Unpause(call); });
      }
    }
  }
  s.cv.wait(lock, [&] { return s.ended; });
  return *s.result;
}

void ChatStreamReader::Cancel() {
  if (auto impl = state_->client.lock()) {
    auto call = state_->call;
    impl->Post([impl, call] { impl->Cancel(call); });
  }
}

}  // namespace seekd::client
