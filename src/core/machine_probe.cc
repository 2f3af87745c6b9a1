#include "core/machine_probe.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "core/kernels/packed.h"

namespace seekd {
namespace {

double Now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

double MeasureReadBandwidth(const kernels::Kernels& k, ThreadPool& pool, uint64_t bytes, int reps) {
  // Each thread reads its own part of a 64-byte-aligned buffer; parts are whole multiples of
  // the largest stream count's lines.
  const auto n_threads = static_cast<uint64_t>(pool.size());
  const uint64_t unit = 64 * 8 * n_threads;
  const uint64_t n = std::max<uint64_t>(unit, bytes / unit * unit), part = n / n_threads;
  auto* buf = static_cast<uint8_t*>(std::aligned_alloc(64, n));
  if (buf == nullptr) return 0;
  std::memset(buf, 1, n);  // touch every page
  std::vector<uint64_t> sinks(n_threads);
  double best = 0;
  for (int r = 0; r < reps; ++r)
    for (kernels::ProbePrefetch prefetch :
         {kernels::ProbePrefetch::kNone, kernels::ProbePrefetch::kL2,
          kernels::ProbePrefetch::kNonTemporal})
      for (int streams : {1, 4, 8}) {  // one stream, and several kept in flight at once
        const double t0 = Now();
        pool.ParallelFor(pool.size(), [&](int64_t b, int64_t e, int thread) {
          for (int64_t t = b; t < e; ++t)
            sinks[static_cast<size_t>(thread)] +=
                k.read_streams(buf + static_cast<uint64_t>(t) * part, part, streams, prefetch);
        });
        best = std::max(best, static_cast<double>(n) / (Now() - t0));
      }
  volatile uint64_t keep = sinks[0];
  (void)keep;
  std::free(buf);
  return best;
}

PeakRates PeakRates::Max(const PeakRates& o) const {
  return {std::max(int8_macs_per_s, o.int8_macs_per_s), std::max(f32_macs_per_s, o.f32_macs_per_s),
          std::max(amx_macs_per_s, o.amx_macs_per_s), std::max(bf16_macs_per_s, o.bf16_macs_per_s)};
}

PeakRates MeasurePeakRates(const kernels::Kernels& k, ThreadPool& pool, int64_t iters) {
  PeakRates out;
  // Each thread times its own chains, and each thread's best repetition counts: the region's
  // wall time let one late-woken or briefly descheduled worker halve a repetition, and on a
  // shared VM all three repetitions sometimes were (a 1.0 TFLOP/s "peak" on a 2.0 machine made
  // a prefill read 108% of it).
  auto rate = [&](uint64_t (*spin)(int64_t), int64_t n) {
    std::vector<double> best(static_cast<size_t>(pool.size()), 0.0);
    for (int r = 0; r < 5; ++r)
      pool.ParallelFor(pool.size(), [&](int64_t, int64_t, int thread) {
        const double t0 = Now();
        const auto macs = static_cast<double>(spin(n));
        double& b = best[static_cast<size_t>(thread)];
        b = std::max(b, macs / (Now() - t0));
      });
    double total = 0;
    for (double b : best) total += b;
    return total;
  };
  out.int8_macs_per_s = rate(k.spin_int8, iters);
  out.f32_macs_per_s = rate(k.spin_f32, iters);
  // A tile op does 16,384 multiply-adds: a sixteenth of the rounds takes about as long.
  if (k.isa == kernels::Isa::kAvx512 && kernels::AmxUsable())
    out.amx_macs_per_s = rate(kernels::SpinAmx, std::max<int64_t>(1, iters / 16));
  if (k.isa == kernels::Isa::kAvx512 && kernels::Bf16Usable())
    out.bf16_macs_per_s = rate(kernels::SpinBf16, iters);
  return out;
}

}  // namespace seekd
