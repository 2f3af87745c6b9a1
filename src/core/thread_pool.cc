#include "core/thread_pool.h"

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

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::RunChunk(int index) {
  const int64_t chunk = (n_ + n_threads_ - 1) / n_threads_;
  const int64_t begin = std::min<int64_t>(n_, chunk * index),
                end = std::min<int64_t>(n_, begin + chunk);
  if (begin < end) (*fn_)(begin, end, index);
}

void ThreadPool::WorkerLoop(int index) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
    }
    RunChunk(index);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (--pending_ == 0) done_.notify_one();
    }
  }
}

void ThreadPool::ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  if (n_threads_ == 1) {
    fn(0, n, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    SEEKD_CHECK_MSG(pending_ == 0, "ParallelFor is not reentrant");
    n_ = n;
    fn_ = &fn;
    pending_ = n_threads_ - 1;
    ++generation_;
  }
  wake_.notify_all();
  RunChunk(0);  // the caller takes chunk 0
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return pending_ == 0; });
  fn_ = nullptr;
}

}  // namespace seekd
