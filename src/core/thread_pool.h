// A persistent compute pool: worker threads created once and woken per parallel region, so a
// forward pass splitting each matrix over rows pays no thread creation (ARCHITECTURE: compute
// pool sized to the physical cores).
//
// Thread-safety: ParallelFor may be called from one thread at a time (the engine loop); it
// blocks until every chunk has run. The callback runs concurrently on different chunks.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace seekd {

// Physical cores (distinct core/package pairs in sysfs); logical CPUs when that is unreadable.
int PhysicalCoreCount();

class ThreadPool {
 public:
  // n_threads ≥ 1 counts the calling thread, which also works: n_threads − 1 workers start.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Splits [0, n) into size() contiguous chunks of near-equal length and runs
  // fn(begin, end, thread_index) for each non-empty one; returns when all are done.
  void ParallelFor(int64_t n, const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  void WorkerLoop(int index);
  void RunChunk(int index);

  const int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  uint64_t generation_ = 0;  // bumped per ParallelFor; workers run once per generation
  int pending_ = 0;          // workers still running the current generation
  bool stop_ = false;
  int64_t n_ = 0;
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
};

}  // namespace seekd
