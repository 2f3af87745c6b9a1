#include "core/machine_probe.h"

#include <algorithm>
#include <chrono>
#include <vector>

#include "core/kernels/packed.h"

namespace seekd {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// Sums 64-byte lines with independent accumulators; the compiler vectorizes it and the loop is
// bound by memory, not by the adds.
uint64_t ReadSum(const uint64_t* p, size_t n) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    __builtin_prefetch(p + i + 256);  // 2 KiB ahead, as MatMul streams weights
    a += p[i] ^ p[i + 4];
    b += p[i + 1] ^ p[i + 5];
    c += p[i + 2] ^ p[i + 6];
    d += p[i + 3] ^ p[i + 7];
  }
  return a + b + c + d;
}

}  // namespace

double MeasureReadBandwidth(ThreadPool& pool, uint64_t bytes, int reps) {
  const size_t n = bytes / sizeof(uint64_t);
  std::vector<uint64_t> buf(n);
  for (size_t i = 0; i < n; i += 512) buf[i] = i;  // touch every page
  std::vector<uint64_t> sinks(static_cast<size_t>(pool.size()));
  double best = 0;
  for (int r = 0; r < reps; ++r) {
    const double t0 = Now();
    pool.ParallelFor(static_cast<int64_t>(n / 8), [&](int64_t b, int64_t e, int thread) {
      sinks[static_cast<size_t>(thread)] +=
          ReadSum(buf.data() + b * 8, static_cast<size_t>(e - b) * 8);
    });
    best = std::max(best, static_cast<double>(bytes) / (Now() - t0));
  }
  volatile uint64_t keep = sinks[0];
  (void)keep;
  return best;
}

PeakRates MeasurePeakRates(const kernels::Kernels& k, ThreadPool& pool, int64_t iters) {
  PeakRates out;
  auto rate = [&](uint64_t (*spin)(int64_t), int64_t n) {
    double best = 0;
    for (int r = 0; r < 3; ++r) {
      std::vector<uint64_t> macs(static_cast<size_t>(pool.size()));
      const double t0 = Now();
      pool.ParallelFor(pool.size(), [&](int64_t, int64_t, int thread) {
        macs[static_cast<size_t>(thread)] = spin(n);
      });
      const double dt = Now() - t0;
      uint64_t total = 0;
      for (uint64_t m : macs) total += m;
      best = std::max(best, static_cast<double>(total) / dt);
    }
    return best;
  };
  out.int8_macs_per_s = rate(k.spin_int8, iters);
  out.f32_macs_per_s = rate(k.spin_f32, iters);
  // A tile op does 16,384 multiply-adds: a sixteenth of the rounds takes about as long.
  if (k.isa == kernels::Isa::kAvx512 && kernels::AmxUsable())
    out.amx_macs_per_s = rate(kernels::SpinAmx, std::max<int64_t>(1, iters / 16));
  return out;
}

}  // namespace seekd
