// A persistent compute pool: worker threads created once and woken per parallel region, so a
// forward pass splitting each matrix over rows pays no thread creation (ARCHITECTURE: compute
// pool sized to the physical cores).
//
// Thread-safety: ParallelFor may be called from one thread at a time (the engine loop); it
// blocks until every chunk has run. The callback runs concurrently on different chunks.
#pragma once

#include <atomic>
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

  // Splits [0, n) into chunks of `grain` (the last shorter) that the threads take in order as
  // they free up, so a thread slowed down (a busy sibling, a descheduled vCPU) holds the others
  // up by one chunk at most rather than by half the work. fn may run several times per thread,
  // always on disjoint ranges (with one thread: one call over [0, n)). For work with no
  // per-thread state between calls.
  void ParallelForDynamic(int64_t n, int64_t grain,
                          const std::function<void(int64_t, int64_t, int)>& fn);

  // The same, with chunks that shrink as the range runs out (guided): each take is about
  // what is left ÷ (2 · size()), rounded down to a multiple of `grain` and never below it (the
  // last one shorter). Early chunks are long, so a thread streams one range for a while; the
  // last ones are short, so the threads finish within about a grain of each other.
  void ParallelForGuided(int64_t n, int64_t grain,
                         const std::function<void(int64_t, int64_t, int)>& fn);

 private:
  void WorkerLoop(int index);
  void RunChunk(int index);
  void Run(int64_t n, int64_t grain, bool guided,
           const std::function<void(int64_t, int64_t, int)>& fn);

  // Hand-off: the caller publishes n_/fn_, then bumps generation_; workers spin on it for a
  // short while (a forward pass issues hundreds of regions per token, each far shorter than a
  // futex round trip) before sleeping on wake_. sleepers_ / caller_sleeping_ tell the other
  // side whether a notify is needed (both sides store, then load: sequentially consistent).
  const int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex mu_;
  std::condition_variable wake_, done_;
  std::atomic<uint64_t> generation_{0};  // bumped per ParallelFor; workers run once per value
  std::atomic<int> pending_{0};          // workers still running the current generation
  std::atomic<int> sleepers_{0};         // workers blocked (or about to block) on wake_
  std::atomic<bool> caller_sleeping_{false};
  std::atomic<bool> stop_{false};
  int64_t n_ = 0;
  int64_t grain_ = 0;             // 0: one static chunk per thread
  bool guided_ = false;           // with grain_ > 0: chunks shrink with what is left
  std::atomic<int64_t> next_{0};  // the next dynamic chunk's begin
  const std::function<void(int64_t, int64_t, int)>* fn_ = nullptr;
};

}  // namespace seekd
