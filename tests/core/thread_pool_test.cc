// The compute pool: every index visited exactly once, chunks contiguous and disjoint, many
// regions in a row (the engine's pattern), and clean shutdown. TSan runs this in CI.
#include "core/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <numeric>

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

TEST(ThreadPoolTest, PhysicalCoresArePositive) {
  EXPECT_GE(PhysicalCoreCount(), 1);
  EXPECT_LE(PhysicalCoreCount(),
            static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace seekd
