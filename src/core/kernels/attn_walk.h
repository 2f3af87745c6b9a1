// The attention tiles' walk over a tile's key/value runs (AttnTile in core/kernels/kernels.h),
// shared by the AVX2 and AVX-512 files (f32_avx2.cc, f32_avx512.cc): which key row a position
// reads, and the K/V prefetch that runs ahead of the scores. Plain C and prefetch instructions,
// no wide registers: any x86 file may include it.
#pragma once

#include <cstdint>

#include "core/kernels/kernels.h"
#include "core/kernels/prefetch.h"

namespace seekd::kernels {

// A position cursor over the runs: the next position is offset `pos` of run `run`. Runs are
// walked in order and an empty run is skipped.
struct AttnRunCursor {
  int64_t run = 0;
  int64_t pos = 0;

  // Steps onto the next position and returns its row's offset (floats) from the start of run
  // `run`'s keys and values.
  int64_t Next(const AttnTile& t) {
    while (pos >= t.run[run]) {
      ++run;
      pos = 0;
    }
    return pos++ * t.kv_stride;
  }
};

// The key rows of the cursor's next n positions, into kp[0 .. n).
inline void NextKeyRows(const AttnTile& t, int n, AttnRunCursor* c, const float** kp) {
  for (int i = 0; i < n; ++i) {
    const int64_t off = c->Next(t);
    kp[i] = t.k[c->run] + off;
  }
}

// Prefetches the key row (into L1: the scores read it next) and the value row (into L2: P·V
// reads it after the softmax) of positions [*j, end), advancing *j and the cursor. In decode
// the rows come from DRAM in head_dim·4-byte strides that the hardware prefetcher loses at every
// page.
inline void PrefetchKvRows(const AttnTile& t, int64_t end, int64_t* j, AttnRunCursor* c) {
  const int64_t row_bytes = t.head_dim * static_cast<int64_t>(sizeof(float));
  for (; *j < end; ++*j) {
    const int64_t off = c->Next(t);
    const auto* krow = reinterpret_cast<const char*>(t.k[c->run] + off);
    const auto* vrow = reinterpret_cast<const char*>(t.v[c->run] + off);
    for (int64_t b = 0; b < row_bytes; b += 64) {
      PrefetchL1(krow + b);
      PrefetchL2(vrow + b);
    }
  }
}

}  // namespace seekd::kernels
