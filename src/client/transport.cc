#include "client/transport.h"

#include <curl/curl.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

namespace seekd::client {

namespace {
using Clock = std::chrono::steady_clock;
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};
}  // namespace

struct Transport::Impl {
  CURLM* multi = nullptr;
  std::thread thread;
  std::atomic<std::thread::id> loop_id{};

  std::mutex mu;  // guards posted, timers, stop
  std::vector<std::function<void()>> posted;
  std::multimap<Clock::time_point, std::function<void()>> timers;
  bool stop = false;

  // Loop thread only.
  std::unordered_map<CURL*, std::function<void(int)>> running;

  void Loop() {
    loop_id = std::this_thread::get_id();
    for (;;) {
      std::vector<std::function<void()>> now_fns;
      int timeout_ms = 1000;
      bool stopping;
      {
        std::lock_guard<std::mutex> lock(mu);
        stopping = stop;
        now_fns.swap(posted);
        const auto t = Clock::now();
        while (!timers.empty() && timers.begin()->first <= t) {
          now_fns.push_back(std::move(timers.begin()->second));
          timers.erase(timers.begin());
        }
        if (!timers.empty())
          timeout_ms = static_cast<int>(std::min<int64_t>(
              timeout_ms,
              std::chrono::duration_cast<std::chrono::milliseconds>(timers.begin()->first - t)
                      .count() +
                  1));
      }
      for (auto& fn : now_fns) fn();
      if (stopping) return;
      if (!now_fns.empty()) timeout_ms = 0;  // they may have started transfers
      int n_running = 0;
      curl_multi_perform(multi, &n_running);
      Reap();
      curl_multi_poll(multi, nullptr, 0, timeout_ms, nullptr);
      curl_multi_perform(multi, &n_running);
      Reap();
    }
  }

  void Reap() {
    int left = 0;
    while (CURLMsg* m = curl_multi_info_read(multi, &left)) {
      if (m->msg != CURLMSG_DONE) continue;
      CURL* e = m->easy_handle;
      const CURLcode code = m->data.result;
      Finish(e, code);
    }
  }

  void Finish(CURL* e, int code) {
    curl_multi_remove_handle(multi, e);
    auto it = running.find(e);
    if (it == running.end()) return;
    auto done = std::move(it->second);
    running.erase(it);
    done(code);
  }
};

Transport::Transport(long max_connections) : impl_(std::make_unique<Impl>()) {
  static CurlGlobal global;
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, max_connections);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, max_connections);
  curl_multi_setopt(impl_->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  impl_->thread = std::thread([this] { impl_->Loop(); });
}

Transport::~Transport() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  curl_multi_wakeup(impl_->multi);
  impl_->thread.join();
  // The loop has ended: abort what still runs, then run what was posted (callers may post
  // follow-ups from their callbacks, so repeat until nothing is left).
  impl_->loop_id = std::this_thread::get_id();
  for (;;) {
    while (!impl_->running.empty())
      impl_->Finish(impl_->running.begin()->first, CURLE_ABORTED_BY_CALLBACK);
    std::vector<std::function<void()>> fns;
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      fns.swap(impl_->posted);
      for (auto& [t, fn] : impl_->timers) fns.push_back(std::move(fn));
      impl_->timers.clear();
    }
    if (fns.empty() && impl_->running.empty()) break;
    for (auto& fn : fns) fn();
  }
  curl_multi_cleanup(impl_->multi);
}

void Transport::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->posted.push_back(std::move(fn));
  }
  curl_multi_wakeup(impl_->multi);
}

void Transport::PostAfter(double seconds, std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->timers.emplace(Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(seconds)),
                          std::move(fn));
  }
  curl_multi_wakeup(impl_->multi);
}

bool Transport::OnLoopThread() const { return std::this_thread::get_id() == impl_->loop_id; }

void Transport::Start(CURL* easy, std::function<void(int)> done) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->stop) {
      done(CURLE_ABORTED_BY_CALLBACK);
      return;
    }
  }
  impl_->running[easy] = std::move(done);
  if (curl_multi_add_handle(impl_->multi, easy) != CURLM_OK) impl_->Finish(easy, CURLE_FAILED_INIT);
}

void Transport::Abort(CURL* easy) {
  if (impl_->running.count(easy)) impl_->Finish(easy, CURLE_ABORTED_BY_CALLBACK);
}

void Transport::Unpause(CURL* easy) {
  if (impl_->running.count(easy)) curl_easy_pause(easy, CURLPAUSE_CONT);
}

}  // namespace seekd::client
