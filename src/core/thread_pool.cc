#include "core/thread_pool.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <string>
#include <utility>

#include "core/status.h"

namespace seekd {

int PhysicalCoreCount() {
  std::set<std::pair<int, int>> cores;
  const unsigned logical = std::max(1u, std::thread::hardware_concurrency());
  for (unsigned cpu = 0; cpu < logical; ++cpu) {
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    std::ifstream core(base + "core_id"), pkg(base + "physical_package_id");
    int c = -1, p = -1;
    if (!(core >> c) || !(pkg >> p)) return static_cast<int>(logical);
    cores.emplace(p, c);
  }
  return cores.empty() ? static_cast<int>(logical) : static_cast<int>(cores.size());
}

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
}

namespace {

inline void CpuRelax() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

// About a quarter of a millisecond of polling before blocking.
constexpr int kSpinRounds = 4096;

}  // namespace

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_.store(true);
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunk(int index) {
  if (grain_ > 0 && guided_) {
    int64_t b = next_.load();
    while (b < n_) {
      const int64_t size = std::max(grain_, (n_ - b) / (2 * n_threads_) / grain_ * grain_);
      const int64_t e = std::min(n_, b + size);
      if (next_.compare_exchange_weak(b, e)) {
        (*fn_)(b, e, index);
        b = next_.load();
      }
    }
    return;
  }
  if (grain_ > 0) {
    for (int64_t b = next_.fetch_add(grain_); b < n_; b = next_.fetch_add(grain_))
      (*fn_)(b, std::min(n_, b + grain_), index);
    return;
  }
  const int64_t chunk = (n_ + n_threads_ - 1) / n_threads_;
  const int64_t begin = std::min<int64_t>(n_, chunk * index),
                end = std::min<int64_t>(n_, begin + chunk);
  if (begin < end) (*fn_)(begin, end, index);
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    bool ready = false;
    for (int i = 0; i < kSpinRounds && !ready; ++i) {
      ready = generation_.load() != seen || stop_.load();
      if (!ready) CpuRelax();
    }
    if (!ready) {
      std::unique_lock<std::mutex> lock(mu_);
      sleepers_.fetch_add(1);
      wake_.wait(lock, [&] { return stop_.load() || generation_.load() != seen; });
      sleepers_.fetch_sub(1);
    }
    if (stop_.load()) return;
    seen = generation_.load();
    RunChunk(index);
    if (pending_.fetch_sub(1) == 1 && caller_sleeping_.load()) {
      std::lock_guard<std::mutex> lock(mu_);
      done_.notify_one();
    }
  }
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn) {
  Run(n, 0, false, fn);
}

void ThreadPool::ParallelForDynamic(int64_t n, int64_t grain,
                                    const std::function<void(int64_t, int64_t, int)>& fn) {
  Run(n, grain < 1 ? 1 : grain, false, fn);
}

void ThreadPool::ParallelForGuided(int64_t n, int64_t grain,
                                   const std::function<void(int64_t, int64_t, int)>& fn) {
  Run(n, grain < 1 ? 1 : grain, true, fn);
}

void ThreadPool::Run(int64_t n, int64_t grain, bool guided,
                     const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  // One thread, or work that is a single chunk (one token's norm in decode): the caller runs it
  // as chunk 0 would, without waking the workers for a region they would find empty.
  if (n_threads_ == 1 || n == 1 || (grain > 0 && n <= grain)) {
    fn(0, n, 0);
    return;
  }
  SEEKD_CHECK_MSG(pending_.load() == 0, "ParallelFor is not reentrant");
  n_ = n;
  grain_ = grain;
  guided_ = guided;
  next_.store(0);
  fn_ = &fn;
  pending_.store(n_threads_ - 1);
  generation_.fetch_add(1);
  if (sleepers_.load() > 0) {
    std::lock_guard<std::mutex> lock(mu_);
    wake_.notify_all();
  }
  RunChunk(0);  // the caller takes chunk 0
  bool done = false;
  for (int i = 0; i < kSpinRounds && !done; ++i) {
    done = pending_.load() == 0;
    if (!done) CpuRelax();
  }
  if (!done) {
    std::unique_lock<std::mutex> lock(mu_);
    caller_sleeping_.store(true);
    done_.wait(lock, [&] { return pending_.load() == 0; });
    caller_sleeping_.store(false);
  }
  fn_ = nullptr;
}

}  // namespace seekd
