// One I/O thread running libcurl's multi interface for a Client: every transfer of the client
// shares its connection cache (kept-alive HTTP/1.1 connections, multiplexed HTTP/2 ones) and
// its DNS cache, and waiting costs no thread per request. Work reaches the loop as posted
// functions; timers schedule retries without blocking.
//
// Thread-safety: Post and PostAfter from any thread; Start, Abort and Unpause only on the loop
// thread (from a posted function or a transfer's callbacks). Internal to the client library.
#pragma once

#include <functional>
#include <memory>

typedef void CURL;  // NOLINT: libcurl's own spelling, so <curl/curl.h> stays out of this header

namespace seekd::client {

class Transport {
 public:
  // max_connections: connections kept per host and in the cache.
  explicit Transport(long max_connections);
  // Stops the loop; transfers still running end with CURLE_ABORTED_BY_CALLBACK first, then
  // posted functions that never ran are run (so every caller hears back).
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  void Post(std::function<void()> fn);
  void PostAfter(double seconds, std::function<void()> fn);
  bool OnLoopThread() const;

  // Loop thread only. Starts a configured easy handle; `done(curl_code)` runs on the loop
  // thread when it ends, after which the handle belongs to the caller again.
  void Start(CURL* easy, std::function<void(int)> done);
  // Ends a running transfer now: done(CURLE_ABORTED_BY_CALLBACK). No-op if not running.
  void Abort(CURL* easy);
  // Resumes a transfer whose write callback returned CURL_WRITEFUNC_PAUSE.
  void Unpause(CURL* easy);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace seekd::client
