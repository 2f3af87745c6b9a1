// What this machine can do, measured the way bench-model needs it: memory read bandwidth with a
// given number of threads, and peak multiply-add rates of the active kernel table's widest
// int8 and f32 instructions. Figures are the best of a few repetitions (noise only slows).
#pragma once

#include <cstdint>

#include "core/kernels/kernels.h"
#include "core/thread_pool.h"

namespace seekd {

// Bytes per second read from a buffer of `bytes` (well beyond the caches), each pool thread
// reading its own part with k.read_streams as 1, 4 and 8 streams at once, each with no software
// prefetch, one into L2 and a non-temporal one; the best of those patterns over `reps`
// repetitions (the limit a decode kernel can be held to).
double MeasureReadBandwidth(const kernels::Kernels& k, ThreadPool& pool,
                            uint64_t bytes = 1ull << 30, int reps = 3);

struct PeakRates {
  // The larger of each rate (two measurements of a noisy machine).
  PeakRates Max(const PeakRates& o) const;

  double int8_macs_per_s = 0;  // vpdpbusd (AVX-512 VNNI) or vpmaddubsw (AVX2) chains
  double f32_macs_per_s = 0;   // FMA chains
  double amx_macs_per_s = 0;   // AMX tdpbssd on full tiles (0 when AMX is not usable)
  double bf16_macs_per_s = 0;  // vdpbf16ps chains (0 without AVX-512 BF16)
};
// iters: rounds of the 12-chain probe per thread per repetition (20M ≈ 0.1 s at full speed).
// Each thread's rate is its own MACs over its own time, best of 5 repetitions; the figure is
// their sum.
PeakRates MeasurePeakRates(const kernels::Kernels& k, ThreadPool& pool, int64_t iters = 20'000'000);

}  // namespace seekd
