// AVX-512 f32 kernels: the attention tile and SwiGLU's silu(gate)·up.
//
// The attention tile (AttnTile in core/kernels/kernels.h). For the scores, query rows go
// across the 16 lanes of a vector: the tile's queries are transposed once, so every score is a
// chain of FMAs over head_dim with one key element broadcast per step, and the softmax runs
// lane-wise (each lane its own row, no horizontal sums). For P·V of a small tile (a decode
// token's GQA group) the value elements go across the lanes and one P entry is broadcast per row
// and position; larger tiles keep the rows across the lanes. Either way each output is its own
// chain of operations that never depends on the other rows, which is what makes a token's
// result independent of its batch. Like the other wide files: intrinsics and plain C in an
// anonymous namespace.
//
// Scratch (floats): Qt [head_dim][Rp] · scale, then S/P [Lp][Rp], then Ot [head_dim][Rp] (above
// kRowsAcrossD rows) or P·V's partial sums [rows][head_dim] (up to kRowsAcrossD rows), with Rp
// the rows rounded up to 16 and Lp the largest n_vis rounded up to 16.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "core/kernels/attn_walk.h"
#include "core/kernels/kernels.h"

namespace {

using seekd::kernels::AttnRunCursor;
using seekd::kernels::AttnTile;
using seekd::kernels::AttnValueCursor;
using seekd::kernels::AttnValuePrefetch;
using seekd::kernels::DequantNextRows;
using seekd::kernels::ForInt8ValueBlocks;
using seekd::kernels::ForValueBlocks;
using seekd::kernels::NextKeyRows;
using seekd::kernels::PrefetchKvRows;
using seekd::kernels::PrefetchQ8Rows;

constexpr int kLanes = 16;
constexpr int64_t kPfPositions = 16;  // attention's K/V prefetch: positions ahead of the scores

constexpr int kPosTile = 8;  // positions per score microkernel: 8 × 3 accumulators at most
static_assert(kPosTile <= seekd::kernels::kAttnKeyTile);
constexpr int kDimTile = 8;    // value elements per P·V microkernel, rows across the lanes
constexpr int kDimChunk = 64;  // value elements per P·V microkernel: 4 vectors
constexpr int kRowChunk = 6;   // rows per P·V microkernel: 6 × 4 accumulators
// P·V with the value elements across the lanes up to this many rows: a whole 6-row tile (the
// 1.5B model's GQA group; head_dim 128, 64–512 positions in L2) takes 0.61–0.67× the time it took
// with the rows across the lanes, 12 rows 0.72–0.77×; above 16 rows the rows-across-lanes pass is
// level or faster (docs/BENCHMARKS.md, "Decode attention: P·V across the head dimension").
constexpr int64_t kRowsAcrossD = 12;
constexpr int64_t kPvBlock = seekd::kernels::kAttnValueBlock;  // positions per P·V block
constexpr int64_t kPvPf = 16;  // P·V's value prefetch: positions ahead

// e^x: 2^n · p(r) with r = x − n·ln2, |r| ≤ ln2/2, and a degree-6 Taylor polynomial
// (relative error below 2e-7). x is clamped to [−87, 88]: below, ≈ 1e-38 instead of 0 (the
// softmax zeroes its masked lanes itself); above, ≈ 1.7e38 instead of infinity.
inline __m512 Exp(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.0f)), _mm512_set1_ps(88.0f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504089f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.4286068203094172e-06f), r);  // ln2 in two parts
  __m512 p = _mm512_set1_ps(1.0f / 720);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// Scores of NP positions (key rows kp[0..NP)) for RV·16 rows: st[p·rp + lane].
template <int RV, int NP>
void ScoreTile(const float* qt, int64_t rp, int64_t hd, const float* const* kp, float* st) {
  __m512 acc[NP][RV];
  for (int p = 0; p < NP; ++p)
    for (int v = 0; v < RV; ++v) acc[p][v] = _mm512_setzero_ps();
  for (int64_t d = 0; d < hd; ++d) {
    __m512 q[RV];
    for (int v = 0; v < RV; ++v) q[v] = _mm512_loadu_ps(qt + d * rp + v * kLanes);
    for (int p = 0; p < NP; ++p) {
      const __m512 b = _mm512_set1_ps(kp[p][d]);
      for (int v = 0; v < RV; ++v) acc[p][v] = _mm512_fmadd_ps(q[v], b, acc[p][v]);
    }
  }
  for (int p = 0; p < NP; ++p)
    for (int v = 0; v < RV; ++v) _mm512_storeu_ps(st + p * rp + v * kLanes, acc[p][v]);
}

using ScoreFn = void (*)(const float*, int64_t, int64_t, const float* const*, float*);
template <int RV>
constexpr ScoreFn kScoreFns[kPosTile] = {ScoreTile<RV, 1>, ScoreTile<RV, 2>, ScoreTile<RV, 3>,
                                         ScoreTile<RV, 4>, ScoreTile<RV, 5>, ScoreTile<RV, 6>,
                                         ScoreTile<RV, 7>, ScoreTile<RV, 8>};

// Rows i0 .. i0+NR, value elements [d0, d0 + 64), positions [j0, j1) from cursor c: adds
// Σ_j P[i][j] · V[j][d] in order of j to the partial sums part[i][d] (zero when first), and when
// last writes them times inv[i] to the outputs. The value elements go across the lanes (V's
// rows are contiguous) and P[i][j] is broadcast, so a decode tile of a few rows (a GQA group: 6
// of 16 lanes) does one FMA per row and 16 elements, not one per 16 lanes; each output is the
// same chain of FMAs (fma(p, v, acc), j ascending, from zero) as with the rows across the lanes
// — carried through part between position blocks, exactly — so its bits do not depend on the
// tile. Lanes past head_dim are masked off. Given pf, it prefetches one value row per position
// (attn_walk.h) for this value chunk and the next.
template <int NR>
void ValueRows(const AttnTile& t, const float* pt, int64_t rp, int64_t j0, int64_t j1,
               AttnValueCursor c, AttnValuePrefetch* pf, int64_t i0, int64_t d0, float* part,
               bool first, bool last, const float* inv) {
  constexpr int kVecs = kDimChunk / kLanes;
  const int64_t hd = t.head_dim;
  __mmask16 m[kVecs];
#pragma GCC unroll 8
  for (int u = 0; u < kVecs; ++u) {
    const int64_t left = hd - d0 - u * kLanes;
    m[u] = left >= kLanes ? static_cast<__mmask16>(0xffff)
           : left <= 0    ? static_cast<__mmask16>(0)
                          : static_cast<__mmask16>((1u << left) - 1);
  }
  __m512 acc[NR][kVecs];
#pragma GCC unroll 8
  for (int i = 0; i < NR; ++i)
#pragma GCC unroll 8
    for (int u = 0; u < kVecs; ++u)
      acc[i][u] = first ? _mm512_setzero_ps()
                        : _mm512_maskz_loadu_ps(m[u], part + (i0 + i) * hd + d0 + u * kLanes);
  // One flat loop over the positions (nested run and position loops made GCC store all the
  // accumulators to the stack on every position).
  for (int64_t j = j0; j < j1; ++j) {
    if (pf != nullptr) pf->Next(t);
    const float* vrow = c.row + d0;
    __m512 v[kVecs];
#pragma GCC unroll 8
    for (int u = 0; u < kVecs; ++u) v[u] = _mm512_maskz_loadu_ps(m[u], vrow + u * kLanes);
    const float* pj = pt + j * rp + i0;
#pragma GCC unroll 8
    for (int i = 0; i < NR; ++i) {
      const __m512 b = _mm512_set1_ps(pj[i]);
#pragma GCC unroll 8
      for (int u = 0; u < kVecs; ++u) acc[i][u] = _mm512_fmadd_ps(b, v[u], acc[i][u]);
    }
    if (j + 1 < j1) c.Step(t);
  }
#pragma GCC unroll 8
  for (int i = 0; i < NR; ++i) {
    const __m512 s = _mm512_set1_ps(inv[i0 + i]);
#pragma GCC unroll 8
    for (int u = 0; u < kVecs; ++u) {
      if (last)
        _mm512_mask_storeu_ps(t.out[i0 + i] + d0 + u * kLanes, m[u], _mm512_mul_ps(acc[i][u], s));
      else
        _mm512_mask_storeu_ps(part + (i0 + i) * hd + d0 + u * kLanes, m[u], acc[i][u]);
    }
  }
}

using ValueFn = void (*)(const AttnTile&, const float*, int64_t, int64_t, int64_t, AttnValueCursor,
                         AttnValuePrefetch*, int64_t, int64_t, float*, bool, bool, const float*);
constexpr ValueFn kValueFns[kRowChunk] = {ValueRows<1>, ValueRows<2>, ValueRows<3>,
                                          ValueRows<4>, ValueRows<5>, ValueRows<6>};

// One 8-bit row of an AttnTile (head_dim values, a scale per q8_group) as f32: float(q) · scale,
// rounded once, 16 values at a time (q8_group is a multiple of 16 or the whole head).
inline void DequantRow(const AttnTile& t, const int8_t* q, const float* sc, float* out) {
  const int64_t hd = t.head_dim, G = t.q8_group;
  for (int64_t g0 = 0; g0 < hd; g0 += G, ++sc) {  // one scale per group, no division
    const __m512 s = _mm512_set1_ps(*sc);
    for (int64_t d = g0; d < g0 + G; d += kLanes) {
      const int64_t n = g0 + G - d;
      const __mmask16 m =
          n >= kLanes ? static_cast<__mmask16>(0xffff) : static_cast<__mmask16>((1u << n) - 1);
      const __m512 x = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(m, q + d)));
      _mm512_mask_storeu_ps(out + d, m, _mm512_mul_ps(x, s));
    }
  }
}

// P·V of an 8-bit tile, any row count: per block of kPvBlock positions the values are converted
// into vbuf [kPvBlock][head_dim] and walked as one run of an f32 tile, every row and value chunk
// of the block before the next (the same chains as the f32 tile's).
void ValuesByBlockInt8(const AttnTile& t, const float* st, int64_t rp, int64_t max_vis,
                       const float* inv, float* part, float* vbuf) {
  const int64_t hd = t.head_dim, rows = t.n_rows;
  const auto row = [&t](const int8_t* q, const float* sc, float* out) {
    DequantRow(t, q, sc, out);
  };
  ForInt8ValueBlocks(t, max_vis, kPvBlock, vbuf, row,
                     [&](const AttnTile& tb, int64_t j0, int64_t j1, const AttnValueCursor& at) {
                       for (int64_t i0 = 0; i0 < rows; i0 += kRowChunk) {
                         const int64_t nr = std::min<int64_t>(rows - i0, kRowChunk);
                         for (int64_t d0 = 0; d0 < hd; d0 += kDimChunk)
                           kValueFns[nr - 1](tb, st, rp, j0, j1, at, nullptr, i0, d0, part, j0 == 0,
                                             j1 == max_vis, inv);
                       }
                     });
}

// P·V of a small tile (up to kRowsAcrossD rows) in blocks of kPvBlock positions
// (ForValueBlocks), the partial sums waiting in part [rows][head_dim] between blocks.
void ValuesByBlock(const AttnTile& t, const float* st, int64_t rp, int64_t max_vis,
                   const float* inv, float* part) {
  const int64_t hd = t.head_dim, rows = t.n_rows;
  ForValueBlocks(t, max_vis, kPvBlock, kPvPf,
                 [&](int64_t j0, int64_t j1, const AttnValueCursor& at, AttnValuePrefetch* pf) {
                   for (int64_t i0 = 0; i0 < rows; i0 += kRowChunk) {
                     const int64_t nr = std::min<int64_t>(rows - i0, kRowChunk);
                     for (int64_t d0 = 0; d0 < hd; d0 += kDimChunk)
                       kValueFns[nr - 1](t, st, rp, j0, j1, at, i0 == 0 && d0 == 0 ? pf : nullptr,
                                         i0, d0, part, j0 == 0, j1 == max_vis, inv);
                   }
                 });
}

// Ot[d0 .. d0+8) for RV·16 rows, the rows across the lanes: the same sums as ValueRows, with
// one value element broadcast per step (the faster of the two above kRowsAcrossD rows).
template <int RV>
void ValueTile(const AttnTile& t, const float* pt, int64_t rp, int64_t n_pos, int64_t d0,
               float* ot) {
  __m512 acc[kDimTile][RV];
  for (int e = 0; e < kDimTile; ++e)
    for (int v = 0; v < RV; ++v) acc[e][v] = _mm512_setzero_ps();
  int64_t j = 0;
  for (int64_t r = 0; r < t.n_runs && j < n_pos; ++r) {
    const float* vrow = t.v[r] + d0;
    for (int64_t p = 0; p < t.run[r] && j < n_pos; ++p, ++j, vrow += t.kv_stride) {
      __m512 pv[RV];
      for (int v = 0; v < RV; ++v) pv[v] = _mm512_loadu_ps(pt + j * rp + v * kLanes);
      for (int e = 0; e < kDimTile; ++e) {
        const __m512 b = _mm512_set1_ps(vrow[e]);
        for (int v = 0; v < RV; ++v) acc[e][v] = _mm512_fmadd_ps(pv[v], b, acc[e][v]);
      }
    }
  }
  for (int e = 0; e < kDimTile; ++e)
    for (int v = 0; v < RV; ++v) _mm512_storeu_ps(ot + (d0 + e) * rp + v * kLanes, acc[e][v]);
}

template <int RV>
void AttendRv(const AttnTile& t, int64_t max_vis) {
  const int64_t hd = t.head_dim, rows = t.n_rows, rp = RV * kLanes;
  float* qt = t.scratch;       // [hd][rp]
  float* st = qt + hd * rp;    // [max_vis][rp]
  int32_t n_vis[RV * kLanes];  // 0 for the padding lanes: every position masked
  for (int64_t i = 0; i < rp; ++i) n_vis[i] = i < rows ? static_cast<int32_t>(t.n_vis[i]) : 0;
  for (int64_t d = 0; d < hd; ++d)
    for (int64_t i = 0; i < rp; ++i) qt[d * rp + i] = i < rows ? t.q[i][d] * t.scale : 0.0f;

  // Scores: positions in tiles of up to 8 key rows, walking the runs. A second cursor runs
  // kPfPositions ahead and prefetches each position's K and V rows (attn_walk.h). An 8-bit
  // tile's key rows are converted into kbuf first.
  const bool q8 = t.k8 != nullptr;
  float* kbuf = t.scratch + seekd::kernels::AttnDequantOffset(rows, max_vis, hd);
  const auto key_row = [&t](const int8_t* q, const float* sc, float* out) {
    DequantRow(t, q, sc, out);
  };
  const float* kp[kPosTile];
  AttnRunCursor keys, ahead;
  int64_t ja = 0;
  for (int64_t j0 = 0; j0 < max_vis; j0 += kPosTile) {
    const int np = static_cast<int>(max_vis - j0 < kPosTile ? max_vis - j0 : kPosTile);
    if (q8) {
      PrefetchQ8Rows(t, std::min(max_vis, j0 + kPosTile + kPfPositions), &ja, &ahead, true);
      DequantNextRows(t, t.k8, t.k8_scale, np, &keys, kbuf, key_row);
      for (int p = 0; p < np; ++p) kp[p] = kbuf + p * hd;
    } else {
      PrefetchKvRows(t, std::min(max_vis, j0 + kPosTile + kPfPositions), &ja, &ahead);
      NextKeyRows(t, np, &keys, kp);
    }
    kScoreFns<RV>[np - 1](qt, rp, hd, kp, st + j0 * rp);
  }

  // Softmax per lane over its own positions; the others become exact zeros.
  float inv[RV * kLanes];
  for (int v = 0; v < RV; ++v) {
    const __m512i nv = _mm512_loadu_si512(n_vis + v * kLanes);
    __m512 m = _mm512_set1_ps(-__builtin_inff());
    for (int64_t j = 0; j < max_vis; ++j) {
      const __mmask16 live = _mm512_cmpgt_epi32_mask(nv, _mm512_set1_epi32(static_cast<int>(j)));
      m = _mm512_mask_max_ps(m, live, m, _mm512_loadu_ps(st + j * rp + v * kLanes));
    }
    __m512 sum = _mm512_setzero_ps();
    for (int64_t j = 0; j < max_vis; ++j) {
      const __mmask16 live = _mm512_cmpgt_epi32_mask(nv, _mm512_set1_epi32(static_cast<int>(j)));
      float* s = st + j * rp + v * kLanes;
      const __m512 e = _mm512_maskz_mov_ps(live, Exp(_mm512_sub_ps(_mm512_loadu_ps(s), m)));
      _mm512_storeu_ps(s, e);
      sum = _mm512_add_ps(sum, e);
    }
    _mm512_storeu_ps(inv + v * kLanes, _mm512_div_ps(_mm512_set1_ps(1.0f), sum));
  }

  float* ot = st + (max_vis + kLanes - 1) / kLanes * kLanes * rp;  // [hd][rp]
  if (q8) {
    ValuesByBlockInt8(t, st, rp, max_vis, inv, ot, kbuf + seekd::kernels::kAttnKeyTile * hd);
  } else if (rows <= kRowsAcrossD) {
    ValuesByBlock(t, st, rp, max_vis, inv, ot);  // part [rows][hd] in Ot's place
  } else {
    for (int64_t d0 = 0; d0 < hd; d0 += kDimTile) ValueTile<RV>(t, st, rp, max_vis, d0, ot);
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t d = 0; d < hd; ++d) t.out[i][d] = ot[d * rp + i] * inv[i];
  }
}

}  // namespace

namespace seekd::kernels {

// y = gate / (1 + e^−gate) · up, 16 at a time, the tail masked.
void SiluMulAvx512(const float* gate, const float* up, int64_t n, float* y) {
  const __m512 one = _mm512_set1_ps(1.0f), sign = _mm512_set1_ps(-0.0f);
  for (int64_t i = 0; i < n; i += kLanes) {
    const __mmask16 m = n - i >= kLanes ? static_cast<__mmask16>(0xffff)
                                        : static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i), u = _mm512_maskz_loadu_ps(m, up + i);
    const __m512 e = Exp(_mm512_xor_ps(g, sign));
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(one, e)), u));
  }
}

// Called by Attend for head_dim % 8 == 0 and 1 ≤ n_rows ≤ kAttnMaxRows.
void AttendF32Avx512(const AttnTile& t) {
  int64_t max_vis = 0;
  for (int64_t i = 0; i < t.n_rows; ++i) max_vis = t.n_vis[i] > max_vis ? t.n_vis[i] : max_vis;
  switch ((t.n_rows + kLanes - 1) / kLanes) {
    case 1:
      AttendRv<1>(t, max_vis);
      return;
    case 2:
      AttendRv<2>(t, max_vis);
      return;
    default:
      AttendRv<3>(t, max_vis);
      return;
  }
}

}  // namespace seekd::kernels
