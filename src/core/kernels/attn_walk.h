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
  int64_t Next(const AttnTile& t) { return NextIndex(t) * t.kv_stride; }
  // The same step, returning the position's index within run `run`.
  int64_t NextIndex(const AttnTile& t) {
    while (pos >= t.run[run]) {
      ++run;
      pos = 0;
    }
    return pos++;
  }
};

// PrefetchKvRows for an 8-bit tile: during the scores (keys set) each position's key slice
// and scales into L1 and its value slice and scales into L2; during P·V the value slice and
// scales into L1.
inline void PrefetchQ8Rows(const AttnTile& t, int64_t end, int64_t* j, AttnRunCursor* c,
                           bool keys) {
  for (; *j < end; ++*j) {
    const int64_t p = c->NextIndex(t);
    const auto* k = reinterpret_cast<const char*>(t.k8[c->run] + p * t.q8_stride);
    const auto* v = reinterpret_cast<const char*>(t.v8[c->run] + p * t.q8_stride);
    const float* vs = t.v8_scale[c->run] + p * t.q8_scale_stride;
    for (int64_t b = 0; b < t.head_dim; b += 64) {
      if (keys) {
        PrefetchL1(k + b);
        PrefetchL2(v + b);
      } else {
        PrefetchL1(v + b);
      }
    }
    if (keys) {
      PrefetchL1(t.k8_scale[c->run] + p * t.q8_scale_stride);
      PrefetchL2(vs);
    } else {
      PrefetchL1(vs);
    }
  }
}

// 8-bit tiles: the next n positions' rows of K or V (base = t.k8 or t.v8, scales alike) as f32
// into out [n][head_dim], walking cursor c; row(q, scales, out) converts one row.
template <typename RowFn>
void DequantNextRows(const AttnTile& t, const int8_t* const* base, const float* const* scales,
                     int64_t n, AttnRunCursor* c, float* out, RowFn row) {
  for (int64_t i = 0; i < n; ++i) {
    const int64_t p = c->NextIndex(t);
    row(base[c->run] + p * t.q8_stride, scales[c->run] + p * t.q8_scale_stride,
        out + i * t.head_dim);
  }
}

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

// P·V's walk over the positions: run r, `left` positions of it to go from `row` (the next
// position's value row, element 0).
struct AttnValueCursor {
  int64_t r = 0, left = 0;
  const float* row = nullptr;

  void Start(const AttnTile& t) {
    r = 0;
    left = t.run[0];
    row = t.v[0];
    while (left == 0) Advance(t);
  }
  // Onto the next position; callers step only while one remains.
  void Step(const AttnTile& t) {
    --left;
    row += t.kv_stride;
    while (left == 0 && r + 1 < t.n_runs) Advance(t);
  }

 private:
  void Advance(const AttnTile& t) {
    ++r;
    left = t.run[r];
    row = t.v[r];
  }
};

// P·V's prefetch of whole value rows into L1, one row per position walked, `distance` positions
// ahead of the walk and never past position max_vis − 1.
struct AttnValuePrefetch {
  AttnValueCursor at;
  int64_t left = 0;  // rows still to prefetch, the one at `at` included

  void Start(const AttnTile& t, int64_t max_vis, int64_t distance) {
    at.Start(t);
    left = max_vis;
    for (int64_t i = 0; i < distance && left > 1; ++i, --left) at.Step(t);
  }
  void Next(const AttnTile& t) {
    if (left <= 0) return;
    const int64_t row_bytes = t.head_dim * static_cast<int64_t>(sizeof(float));
    for (int64_t b = 0; b < row_bytes; b += 64)
      PrefetchL1(reinterpret_cast<const char*>(at.row) + b);
    if (--left > 0) at.Step(t);
  }
};

// P·V in blocks of `block` positions, so that each value row comes from memory once: a whole
// tile's V (2 MB at 4096 positions, head size 128) does not stay in L2 from one value chunk's
// walk to the next, a block's does. fn(j0, j1, at, pf) runs every row and value chunk of
// positions [j0, j1) from cursor `at`, carrying its partial sums from the block before (exact:
// the same FMA chains), and calls pf->Next once per position of its first pass.
template <typename Fn>
void ForValueBlocks(const AttnTile& t, int64_t max_vis, int64_t block, int64_t pf_distance,
                    Fn&& fn) {
  AttnValueCursor at;
  at.Start(t);
  AttnValuePrefetch pf;
  pf.Start(t, max_vis, pf_distance);
  for (int64_t j0 = 0; j0 < max_vis; j0 += block) {
    const int64_t j1 = j0 + block < max_vis ? j0 + block : max_vis;
    fn(j0, j1, at, &pf);
    for (int64_t j = j0; j < j1 && j + 1 < max_vis; ++j) at.Step(t);
  }
}

// P·V of an 8-bit tile, as ForValueBlocks for f32 ones: per block of `block` positions the
// value rows are converted into vbuf [block][head_dim] (row(q, scales, out) a row, 16 at a time
// with the int8 rows prefetched 32 positions ahead of them) and fn(tb, j0, j1, at) runs every
// row and value chunk over tb, an f32 tile whose one run is vbuf, from its start `at`.
template <typename RowFn, typename Fn>
void ForInt8ValueBlocks(const AttnTile& t, int64_t max_vis, int64_t block, float* vbuf, RowFn row,
                        Fn&& fn) {
  AttnRunCursor vc, pc;  // conversion, prefetch
  int64_t jp = 0;
  for (int64_t j0 = 0; j0 < max_vis; j0 += block) {
    const int64_t j1 = j0 + block < max_vis ? j0 + block : max_vis;
    for (int64_t j = j0; j < j1; j += 16) {
      const int64_t n = j1 - j < 16 ? j1 - j : 16;
      PrefetchQ8Rows(t, j + 48 < max_vis ? j + 48 : max_vis, &jp, &pc, false);
      DequantNextRows(t, t.v8, t.v8_scale, n, &vc, vbuf + (j - j0) * t.head_dim, row);
    }
    const float* vb[] = {vbuf};
    const int64_t run[] = {j1 - j0};
    AttnTile tb = t;
    tb.v = vb;
    tb.run = run;
    tb.n_runs = 1;
    tb.kv_stride = t.head_dim;
    AttnValueCursor at;
    at.Start(tb);
    fn(tb, j0, j1, at);
  }
}

}  // namespace seekd::kernels
