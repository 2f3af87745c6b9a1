// A real HTTP/1.1 server on 127.0.0.1 for client tests: a thread per connection, keep-alive,
// and a handler that writes whatever bytes the test wants (whole responses, slow streams, cuts).
// It counts connections and the most requests it held at once.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace seekd::client::testing {

struct RawRequest {
  std::string method, target, head, body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string Header(const std::string& name) const {
    for (const auto& [k, v] : headers)
      if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
    return "";
  }
};

// Writes to the client; false once the client has gone.
using Writer = std::function<bool(const std::string&)>;
// Returns false to close the connection after answering.
using Handler = std::function<bool(const RawRequest&, const Writer&)>;

class ThreadedServer {
 public:
  explicit ThreadedServer(Handler h) : handler_(std::move(h)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    listen(fd_, 64);
    accept_ = std::thread([this] { Accept(); });
  }
  ~ThreadedServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    accept_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (int c : open_) shutdown(c, SHUT_RDWR);
    }
    for (auto& t : conns_) t.join();
  }
  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  int connections() const { return connections_; }
  int max_active() const { return max_active_; }
  std::vector<RawRequest> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  static std::string Reply(int status, const std::string& body, const std::string& extra = "") {
    return "HTTP/1.1 " + std::to_string(status) +
           " X\r\nContent-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n" + extra + "\r\n" + body;
  }
  static std::string StreamHead() {
    return "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n\r\n";
  }

 private:
  void Accept() {
    while (!stop_) {
      const int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      std::lock_guard<std::mutex> lock(mu_);
      open_.push_back(c);
      conns_.emplace_back([this, c] { Serve(c); });
    }
  }

  void Serve(int c) {
    std::string buf;
    char tmp[8192];
    for (;;) {
      size_t end;
      while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
        const ssize_t n = recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) return Close(c);
        buf.append(tmp, static_cast<size_t>(n));
      }
      RawRequest r;
      r.head = buf.substr(0, end);
      size_t line_end = r.head.find("\r\n");
      const std::string first = r.head.substr(0, line_end);
      r.method = first.substr(0, first.find(' '));
      r.target = first.substr(first.find(' ') + 1, first.rfind(' ') - first.find(' ') - 1);
      size_t body_len = 0;
      for (size_t p = line_end + 2; p < r.head.size();) {
        size_t e = r.head.find("\r\n", p);
        if (e == std::string::npos) e = r.head.size();
        const std::string line = r.head.substr(p, e - p);
        const size_t colon = line.find(':');
        if (colon != std::string::npos) {
          std::string v = line.substr(colon + 1);
          while (!v.empty() && v.front() == ' ') v.erase(0, 1);
          r.headers.emplace_back(line.substr(0, colon), v);
          if (strcasecmp(line.substr(0, colon).c_str(), "Content-Length") == 0)
            body_len = std::stoul(v);
        }
        p = e + 2;
      }
      while (buf.size() < end + 4 + body_len) {
        const ssize_t n = recv(c, tmp, sizeof tmp, 0);
        if (n <= 0) return Close(c);
        buf.append(tmp, static_cast<size_t>(n));
      }
      r.body = buf.substr(end + 4, body_len);
      buf.erase(0, end + 4 + body_len);
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(r);
      }
      const int now = ++active_;
      for (int m = max_active_; now > m && !max_active_.compare_exchange_weak(m, now);) {
      }
      const bool keep = handler_(r, [c](const std::string& bytes) {
        return send(c, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
               static_cast<ssize_t>(bytes.size());
      });
      --active_;
      if (!keep) return Close(c);
    }
  }
  void Close(int c) {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase(open_, c);
    close(c);
  }

  Handler handler_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0}, active_{0}, max_active_{0};
  std::thread accept_;
  std::mutex mu_;
  std::vector<int> open_;
  std::vector<std::thread> conns_;
  std::vector<RawRequest> requests_;
};

}  // namespace seekd::client::testing
