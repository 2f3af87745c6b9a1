// The compute pool: every index visited exactly once, chunks contiguous and disjoint, many
// regions in a row (the engine's pattern), and clean shutdown. TSan runs this in CI.
#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <numeric>
#include <thread>
#include <vector>

namespace seekd {
namespace {

TEST(ThreadPoolTest, VisitsEveryIndexOnceInContiguousChunks) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<int> calls{0};
      pool.ParallelFor(n, [&](int64_t b, int64_t e, int t) {
        EXPECT_LT(b, e);
        EXPECT_GE(t, 0);
        EXPECT_LT(t, threads);
        ++calls;
        for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
      });
      for (auto& h : hits) EXPECT_EQ(h.load(), 1);
      EXPECT_LE(calls.load(), threads);
      EXPECT_EQ(calls.load() > 0, n > 0);
    }
  }
}

TEST(ThreadPoolTest, ManyRegionsInARowComputeTheSameSums) {
  ThreadPool pool(4);
  std::vector<double> data(10007);
  std::iota(data.begin(), data.end(), 1.0);
  const double want = 10007.0 * 10008.0 / 2.0;
  for (int rep = 0; rep < 2000; ++rep) {
    std::vector<double> partial(4, 0.0);
    pool.ParallelFor(static_cast<int64_t>(data.size()), [&](int64_t b, int64_t e, int t) {
      double s = 0;
      for (int64_t i = b; i < e; ++i) s += data[static_cast<size_t>(i)];
      partial[static_cast<size_t>(t)] = s;
    });
    ASSERT_EQ(partial[0] + partial[1] + partial[2] + partial[3], want) << "rep " << rep;
  }
}

// Dynamic chunks: every index once, each call one grain (the last shorter) starting on a
// multiple of it; a stalled thread's share is taken by the others; static regions still work
// between dynamic ones.
TEST(ThreadPoolTest, DynamicChunksVisitEveryIndexOnceInGrainSizedPieces) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 1000}) {
      for (int64_t grain : {1, 3, 64, 5000}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> calls{0};
        // One thread: a single call over everything (nothing to balance).
        const int64_t g = threads == 1 ? std::max<int64_t>(n, 1) : grain;
        pool.ParallelForDynamic(n, grain, [&](int64_t b, int64_t e, int t) {
          EXPECT_EQ(b % g, 0);
          EXPECT_EQ(e, std::min(n, b + g));
          EXPECT_GE(t, 0);
          EXPECT_LT(t, threads);
          ++calls;
          for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
        });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
        EXPECT_EQ(calls.load(), (n + g - 1) / g);
        std::atomic<int64_t> sum{0};
        pool.ParallelFor(n, [&](int64_t b, int64_t e, int) { sum += e - b; });
        EXPECT_EQ(sum.load(), n);
      }
    }
  }
}

TEST(ThreadPoolTest, DynamicChunksRouteAroundAStalledThread) {
  ThreadPool pool(2);
  std::atomic<int> stalled_thread{-1};
  std::atomic<int> chunks[2] = {0, 0};
  pool.ParallelForDynamic(64, 1, [&](int64_t, int64_t, int t) {
    ++chunks[t];
    int none = -1;
    // The first chunk's thread sleeps; the other one takes all that is left meanwhile (a
    // static split would leave half of it to the sleeper).
    if (stalled_thread.compare_exchange_strong(none, t))
      std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  });
  ASSERT_GE(stalled_thread.load(), 0);
  EXPECT_EQ(chunks[stalled_thread.load()].load(), 1);
  EXPECT_EQ(chunks[0].load() + chunks[1].load(), 64);
}

// Guided chunks: every index once; each chunk a multiple of the grain (the last one may end at
// n) and never longer than what was left ÷ (2 · threads) when it was taken, once that is past a
// grain; so chunks shrink toward the end, and a stalled thread's share goes to the others.
TEST(ThreadPoolTest, GuidedChunksShrinkAndVisitEveryIndexOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    for (int64_t n : {0, 1, 7, 96, 1000, 9496}) {
      for (int64_t grain : {1, 4, 64}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::mutex mu;
        std::vector<std::pair<int64_t, int64_t>> chunks;
        pool.ParallelForGuided(n, grain, [&](int64_t b, int64_t e, int t) {
          EXPECT_GE(t, 0);
          EXPECT_LT(t, threads);
          EXPECT_LT(b, e);
          for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
          std::lock_guard<std::mutex> lock(mu);
          chunks.emplace_back(b, e);
        });
        for (auto& h : hits) EXPECT_EQ(h.load(), 1);
        if (threads == 1) {
          EXPECT_LE(chunks.size(), 1u);  // one call over everything
          continue;
        }
        std::sort(chunks.begin(), chunks.end());
        for (const auto& [b, e] : chunks) {
          if (e < n) {
            EXPECT_EQ((e - b) % grain, 0) << "n=" << n << " grain=" << grain;
          }
          const int64_t cap = std::max(grain, (n - b) / (2 * threads) / grain * grain);
          EXPECT_EQ(e - b, std::min(cap, n - b)) << "n=" << n << " b=" << b;
        }
      }
    }
  }
  ThreadPool pool(2);
  std::atomic<int> stalled_thread{-1};
  std::atomic<int64_t> done[2] = {0, 0};
  pool.ParallelForGuided(1000, 4, [&](int64_t b, int64_t e, int t) {
    done[t] += e - b;
    int none = -1;
    if (stalled_thread.compare_exchange_strong(none, t))
      std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  });
  ASSERT_GE(stalled_thread.load(), 0);
  EXPECT_EQ(done[0].load() + done[1].load(), 1000);
  EXPECT_LE(done[stalled_thread.load()].load(), 250);  // its first chunk: 1000 ÷ 4
}

// A region that is one chunk (one token's norm in decode) runs on the calling thread as chunk
// 0, without a hand-off; the next full region still reaches every worker.
TEST(ThreadPoolTest, OneChunkRegionsRunOnTheCaller) {
  ThreadPool pool(3);
  const auto caller = std::this_thread::get_id();
  for (int rep = 0; rep < 100; ++rep) {
    int calls = 0;
    pool.ParallelFor(1, [&](int64_t b, int64_t e, int t) {
      EXPECT_EQ(std::this_thread::get_id(), caller);
      EXPECT_EQ(b, 0);
      EXPECT_EQ(e, 1);
      EXPECT_EQ(t, 0);
      ++calls;
    });
    pool.ParallelForDynamic(5, 8, [&](int64_t b, int64_t e, int t) {
      EXPECT_EQ(std::this_thread::get_id(), caller);
      EXPECT_EQ(b, 0);
      EXPECT_EQ(e, 5);
      EXPECT_EQ(t, 0);
      ++calls;
    });
    EXPECT_EQ(calls, 2);
    std::vector<std::atomic<int>> seen(3);
    pool.ParallelFor(3, [&](int64_t b, int64_t e, int t) {
      EXPECT_EQ(e - b, 1);
      ++seen[static_cast<size_t>(t)];
    });
    for (auto& v : seen) EXPECT_EQ(v.load(), 1) << "rep " << rep;
  }
}

TEST(ThreadPoolTest, PhysicalCoresArePositive) {
  EXPECT_GE(PhysicalCoreCount(), 1);
  EXPECT_LE(PhysicalCoreCount(),
            static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace seekd
