#include "client/http_client.h"

#include <curl/curl.h>

#include <chrono>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

namespace seekd::client {

namespace {

using Clock = std::chrono::steady_clock;

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

std::string RandomHex(std::mt19937_64& rng) {
  char b[33];
  std::snprintf(b, sizeof b, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return b;
}

// State of one attempt, reached from curl's callbacks.
struct Attempt {
  CURL* curl = nullptr;
  Response* r = nullptr;
  const std::function<bool(const api::SseEvent&)>* on_event = nullptr;
  api::SseParser sse;
  bool stopped_by_caller = false;

  static size_t OnHeader(char* data, size_t size, size_t n, void* self) {
    auto* a = static_cast<Attempt*>(self);
    std::string_view line(data, size * n);
    if (line.rfind("HTTP/", 0) == 0) {
      a->r->headers.clear();  // a new response (after 100 Continue or a redirect)
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      std::string_view v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' '))
        v.remove_suffix(1);
      a->r->headers.emplace_back(std::string(line.substr(0, colon)), std::string(v));
    }
    return size * n;
  }

  static size_t OnBody(char* data, size_t size, size_t n, void* self) {
    auto* a = static_cast<Attempt*>(self);
    const size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
    if (a->on_event != nullptr && status >= 200 && status < 300) {
      a->r->stream_started = true;
      for (const api::SseEvent& e : a->sse.Feed(std::string_view(data, len))) {
        if (!(*a->on_event)(e)) {
          a->stopped_by_caller = true;
          return 0;  // ends the transfer
        }
      }
      return len;
    }
    a->r->body.append(data, len);
    return len;
  }
};

}  // namespace

struct Client::Impl {
  ClientOptions opt;
  std::mutex mu;
  std::vector<CURL*> idle;  // handles keep their connections between calls
  std::mt19937_64 rng{std::random_device{}()};

  CURL* Take() {
    std::lock_guard<std::mutex> lock(mu);
    if (!idle.empty()) {
      CURL* c = idle.back();
      idle.pop_back();
      curl_easy_reset(c);  // options cleared; live connections kept
      return c;
    }
    return curl_easy_init();
  }
  void Give(CURL* c) {
    std::lock_guard<std::mutex> lock(mu);
    idle.push_back(c);
  }
  double Jitter() {
    std::lock_guard<std::mutex> lock(mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
  }
  std::string IdempotencyKey() {
    std::lock_guard<std::mutex> lock(mu);
    return "seekd-" + RandomHex(rng);
  }
};

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>()) {
  static CurlGlobal global;
  impl_->opt = std::move(options);
  while (!impl_->opt.base_url.empty() && impl_->opt.base_url.back() == '/')
    impl_->opt.base_url.pop_back();
}

Client::~Client() {
  for (CURL* c : impl_->idle) curl_easy_cleanup(c);
}

Response Client::Call(const char* method, std::string_view path, const std::string* body,
                      const std::function<bool(const api::SseEvent&)>* on_event) {
  const ClientOptions& o = impl_->opt;
  const std::string url = o.base_url + std::string(path);
  const std::string key = impl_->IdempotencyKey();  // the same for every attempt of this call
  const auto start = Clock::now();
  Response r;
  for (int attempt = 0;; ++attempt) {
    r = Response{};
    r.attempts = attempt + 1;
    CURL* c = impl_->Take();
    curl_slist* hdrs = nullptr;
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    hdrs = curl_slist_append(hdrs,
                             on_event ? "Accept: text/event-stream" : "Accept: application/json");
    hdrs = curl_slist_append(hdrs, ("Idempotency-Key: " + key).c_str());
    hdrs = curl_slist_append(hdrs, ("X-Retry-Count: " + std::to_string(attempt)).c_str());
    if (!o.api_key.empty())
      hdrs = curl_slist_append(hdrs, ("Authorization: Bearer " + o.api_key).c_str());
    Attempt a;
    a.curl = c;
    a.r = &r;
    a.on_event = on_event;
    curl_easy_setopt(c, CURLOPT_URL, url.c_str());
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, body->data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body->size()));
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_USERAGENT, o.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);  // h2 over TLS when offered
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(o.connect_timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o.attempt_timeout_s * 1000));
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, &Attempt::OnHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &Attempt::OnBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    const CURLcode code = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdrs);
    impl_->Give(c);
    r.status = static_cast<int>(status);
    if (code != CURLE_OK && !a.stopped_by_caller) {
      r.error = curl_easy_strerror(code);
      // A response cut short is no response, unless a stream had already begun.
      if (!r.stream_started) r.status = 0;
    }
    if (r.error.empty() && r.status >= 200 && r.status < 300) return r;
    if (attempt >= o.retry.max_retries || !ShouldRetry(r.status, r.headers, r.stream_started))
      return r;
    const double delay =
        RetryDelay(o.retry, attempt, r.headers, std::chrono::system_clock::now(), impl_->Jitter());
    if (o.total_timeout_s > 0 &&
        std::chrono::duration<double>(Clock::now() - start).count() + delay > o.total_timeout_s)
      return r;
    std::this_thread::sleep_for(std::chrono::duration<double>(delay));
  }
}

Response Client::PostJson(std::string_view path, const nlohmann::json& body) {
  const std::string text = body.dump();
  return Call("POST", path, &text, nullptr);
}

Response Client::Get(std::string_view path) { return Call("GET", path, nullptr, nullptr); }

Response Client::PostStream(std::string_view path, const nlohmann::json& body,
                            const std::function<bool(const api::SseEvent&)>& on_event) {
  const std::string text = body.dump();
  return Call("POST", path, &text, &on_event);
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

api::ApiResult<nlohmann::json> Client::Chat(nlohmann::json request) {
  request["stream"] = false;
  const Response r = PostJson("/chat/completions", request);
  if (r.status < 200 || r.status >= 300 || !r.error.empty()) return ErrorOf(r);
  auto j = nlohmann::json::parse(r.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded())
    return api::ApiError{r.status, "invalid_response", "The response is not JSON", "",
                         "malformed_response"};
  return j;
}

api::ApiResult<api::ChatStreamAccumulator> Client::ChatStream(
    nlohmann::json request,
    const std::function<void(const api::ChatStreamAccumulator::Delta&)>& on_delta) {
  request["stream"] = true;
  api::ChatStreamAccumulator acc;
  const Response r = PostStream("/chat/completions", request, [&](const api::SseEvent& e) {
    for (const auto& d : acc.Add(e.data))
      if (on_delta) on_delta(d);
    return !acc.error();  // after [DONE], read to the end so the server sees a clean finish
  });
  if (!r.stream_started && (r.status < 200 || r.status >= 300 || !r.error.empty()))
    return ErrorOf(r);
  if (acc.error()) return *acc.error();
  if (!acc.done())
    return api::ApiError{r.status, "connection_error",
                         "The stream ended before [DONE]" + (r.error.empty() ? "" : ": " + r.error),
                         "", "incomplete_stream"};
  return acc;
}

}  // namespace seekd::client
