// The client against a real, scripted, misbehaving HTTP server on 127.0.0.1: attempt counts,
// delays within the backoff's jitter bounds, Retry-After honoured, one idempotency key per call,
// no retry once a stream has started, and timeouts that fire.
#include "client/http_client.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace seekd::client {
namespace {

using Clock = std::chrono::steady_clock;

// Answers each request with the next scripted action, then closes the connection.
class ScriptedServer {
 public:
  struct Action {
    std::string response;  // raw bytes
    int delay_ms = 0;      // before answering
    int send_bytes = -1;   // send only this many bytes, then close (-1: all)
  };

  explicit ScriptedServer(std::vector<Action> script) : script_(std::move(script)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<Clock::time_point> times() {
    std::lock_guard<std::mutex> lock(mu_);
    return times_;
  }

 private:
  void Serve() {
    for (size_t i = 0; !stop_; ++i) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string req;
      char buf[4096];
      size_t need = std::string::npos;
      while (need == std::string::npos || req.size() < need) {
        const ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        req.append(buf, static_cast<size_t>(n));
        const size_t end = req.find("\r\n\r\n");
        if (end != std::string::npos && need == std::string::npos) {
          size_t body = 0;
          const size_t cl = req.find("Content-Length: ");
          if (cl != std::string::npos && cl < end) body = std::stoul(req.substr(cl + 16));
          need = end + 4 + body;
        }
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(req);
        times_.push_back(Clock::now());
      }
      const Action a = i < script_.size() ? script_[i] : Action{Reply(500, "{}")};
      std::this_thread::sleep_for(std::chrono::milliseconds(a.delay_ms));
      const size_t n = a.send_bytes < 0 ? a.response.size() : static_cast<size_t>(a.send_bytes);
      send(c, a.response.data(), n, MSG_NOSIGNAL);
      close(c);
    }
  }

 public:
  static std::string Reply(int status, const std::string& body, const std::string& extra = "",
                           const std::string& type = "application/json") {
    return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: " + type +
           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n" +
           extra + "\r\n" + body;
  }

 private:
  std::vector<Action> script_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_;
  std::vector<Clock::time_point> times_;
};

std::string Header(const std::string& req, const std::string& name) {
  const size_t at = req.find(name + ": ");
  if (at == std::string::npos) return "";
  return req.substr(at + name.size() + 2, req.find("\r\n", at) - at - name.size() - 2);
}

double Gap(const std::vector<Clock::time_point>& t, size_t i) {
  return std::chrono::duration<double>(t[i] - t[i - 1]).count();
}

const std::string kOk =
    R"({"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]})";
const nlohmann::json kReq = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}};

ClientOptions Fast(const std::string& url) {
  ClientOptions o;
  o.base_url = url;
  o.api_key = "sk-test";
  o.retry.initial_delay_s = 0.05;  // the same rules, a tenth of the waits
  o.retry.max_delay_s = 0.8;
  return o;
}

TEST(HttpClient, RetriesTwice503ThenSucceedsWithOneIdempotencyKey) {
  ScriptedServer s({{ScriptedServer::Reply(503, R"({"error":{"message":"busy"}})")},
                    {ScriptedServer::Reply(502, "bad gateway", "", "text/plain")},
                    {ScriptedServer::Reply(200, kOk)}});
  Client c(Fast(s.url()));
  auto r = c.Chat(kReq);
  ASSERT_TRUE(std::holds_alternative<nlohmann::json>(r));
  EXPECT_EQ(std::get<nlohmann::json>(r)["choices"][0]["message"]["content"], "hi");
  const auto reqs = s.requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_FALSE(Header(reqs[0], "Idempotency-Key").empty());
  for (size_t i = 0; i < reqs.size(); ++i) {
    EXPECT_EQ(Header(reqs[i], "Idempotency-Key"), Header(reqs[0], "Idempotency-Key"));
    EXPECT_EQ(Header(reqs[i], "X-Retry-Count"), std::to_string(i));
    EXPECT_EQ(Header(reqs[i], "Authorization"), "Bearer sk-test");
  }
  // Backoff 0.05 s then 0.1 s, each reduced by at most 25% of jitter.
  const auto t = s.times();
  EXPECT_GE(Gap(t, 1), 0.0375);
  EXPECT_LT(Gap(t, 1), 0.05 + 0.25);
  EXPECT_GE(Gap(t, 2), 0.075);
  EXPECT_LT(Gap(t, 2), 0.1 + 0.25);
}

TEST(HttpClient, HonoursRetryAfterAndStopsAfterMaxRetries) {
  ScriptedServer s(
      {{ScriptedServer::Reply(429, R"({"error":{"message":"slow down","code":"rate_limited"}})",
                              "Retry-After: 1\r\n")},
       {ScriptedServer::Reply(200, kOk)}});
  Client c(Fast(s.url()));
  ASSERT_TRUE(std::holds_alternative<nlohmann::json>(c.Chat(kReq)));
  EXPECT_GE(Gap(s.times(), 1), 0.95);
  // Always 503: one call, max_retries + 1 attempts, and the server's error comes back.
  ScriptedServer busy(
      {{ScriptedServer::Reply(
           503, R"({"error":{"message":"full","type":"server_overloaded","code":"overloaded"}})")},
       {ScriptedServer::Reply(
           503, R"({"error":{"message":"full","type":"server_overloaded","code":"overloaded"}})")},
       {ScriptedServer::Reply(
           503,
           R"({"error":{"message":"full","type":"server_overloaded","code":"overloaded"}})")}});
  Client c2(Fast(busy.url()));
  auto r = c2.Chat(kReq);
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(r));
  EXPECT_EQ(std::get<api::ApiError>(r).status, 503);
  EXPECT_EQ(std::get<api::ApiError>(r).code, "overloaded");
  EXPECT_EQ(busy.requests().size(), 3u);
}

TEST(HttpClient, ClientErrorsAreNotRetried) {
  ScriptedServer s({{ScriptedServer::Reply(
      422,
      R"({"error":{"message":"temperature must be between 0 and 2","type":"invalid_request_error","param":"temperature","code":"invalid_parameter"}})")}});
  Client c(Fast(s.url()));
  auto r = c.Chat(kReq);
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(r));
  EXPECT_EQ(std::get<api::ApiError>(r).param, "temperature");
  EXPECT_EQ(s.requests().size(), 1u);
}

TEST(HttpClient, ConnectionClosedMidBodyIsRetried) {
  const std::string full = ScriptedServer::Reply(200, kOk);
  ScriptedServer s({{full, 0, static_cast<int>(full.size()) - 20}, {full}});
  Client c(Fast(s.url()));
  auto r = c.Chat(kReq);
  ASSERT_TRUE(std::holds_alternative<nlohmann::json>(r));
  EXPECT_EQ(s.requests().size(), 2u);
}

TEST(HttpClient, AStreamCutAfterTwoChunksIsNotRetried) {
  const std::string head =
      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
  const std::string chunks =
      "data: "
      "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":"
      "\"Hel\"}}]}\n\n"
      "data: {\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"lo\"}}]}\n\n";
  ScriptedServer s({{head + chunks}, {ScriptedServer::Reply(200, kOk)}});
  Client c(Fast(s.url()));
  std::string seen;
  auto r =
      c.ChatStream(kReq, [&](const api::ChatStreamAccumulator::Delta& d) { seen += d.content; });
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(r));
  EXPECT_EQ(std::get<api::ApiError>(r).code, "incomplete_stream");
  EXPECT_EQ(seen, "Hello");
  EXPECT_EQ(s.requests().size(), 1u);  // bytes had arrived: never retried
  // A whole stream assembles.
  ScriptedServer ok(
      {{head + chunks +
        "data: "
        "{\"id\":\"c\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n"
        ": keep-alive\n\ndata: [DONE]\n\n"}});
  Client c2(Fast(ok.url()));
  auto whole = c2.ChatStream(kReq, nullptr);
  ASSERT_TRUE(std::holds_alternative<api::ChatStreamAccumulator>(whole));
  const auto& acc = std::get<api::ChatStreamAccumulator>(whole);
  EXPECT_EQ(acc.choices()[0].content, "Hello");
  EXPECT_EQ(acc.choices()[0].finish_reason, "stop");
  EXPECT_NE(Header(ok.requests()[0], "Accept").find("text/event-stream"), std::string::npos);
}

TEST(HttpClient, SlowServersTimeOutAndNobodyListeningIsAConnectionError) {
  ScriptedServer s(
      {{ScriptedServer::Reply(200, kOk), 800}, {ScriptedServer::Reply(200, kOk), 800}});
  ClientOptions o = Fast(s.url());
  o.attempt_timeout_s = 0.3;
  o.retry.max_retries = 1;
  Client c(o);
  const auto t0 = Clock::now();
  auto r = c.Chat(kReq);
  const double took = std::chrono::duration<double>(Clock::now() - t0).count();
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(r));
  EXPECT_EQ(std::get<api::ApiError>(r).status, 0);
  EXPECT_NE(std::get<api::ApiError>(r).message.find("imeout"), std::string::npos)
      << std::get<api::ApiError>(r).message;
  // Two attempts of 0.3 s with a 0.0375–0.05 s wait between (the server answers one connection
  // at a time, so it may not have read the second request yet).
  EXPECT_GE(took, 0.6);
  EXPECT_LT(took, 1.5);
  // A port nobody listens on.
  ClientOptions dead = Fast("http://127.0.0.1:1/v1");
  dead.retry.max_retries = 0;
  auto e = Client(dead).Chat(kReq);
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(e));
  EXPECT_EQ(std::get<api::ApiError>(e).code, "connection_error");
}

}  // namespace
}  // namespace seekd::client
