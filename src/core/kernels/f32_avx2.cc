// AVX2 + FMA f32 kernels: the attention tile and SwiGLU's silu(gate)·up, the AVX-512 file's
// (f32_avx512.cc) shapes on 8 lanes and 16 registers.
//
// The attention tile (AttnTile in core/kernels/kernels.h): the tile's queries are transposed
// once (rows across the 8 lanes, times the scale), every score is a chain of FMAs over head_dim
// with one key element broadcast per step, and the softmax runs lane-wise. P·V puts the value
// elements across the lanes and broadcasts one P entry per row and position, for every row
// count (with 16 registers a row-across-lanes pass would hold 4 value elements × 2 row vectors
// per position, fewer FMAs per load than 3 rows × 32 elements). Each output is the same chain of
// operations whatever the other rows, so a token's result does not depend on its batch; the
// chains are the AVX-512 file's (scores: fma over d ascending from zero; P·V: fma(p, v, acc)
// over positions ascending from zero, times 1/Σ), so both tables agree up to e^x.
//
// Scratch (floats): Qt [head_dim][Rp] · scale, then S/P [max_vis][Rp], then P·V's partial sums
// [rows][head_dim], with Rp the rows rounded up to 8 (within AttnScratchFloats, which counts 16).
#include <immintrin.h>

#include <algorithm>
#include <cstdint>

#include "core/kernels/attn_walk.h"
#include "core/kernels/kernels.h"

namespace {

using seekd::kernels::AttnTile;
using seekd::kernels::AttnValueCursor;
using seekd::kernels::AttnValuePrefetch;

constexpr int kLanes = 8;
constexpr int64_t kPfPositions = 16;  // K/V prefetch: positions ahead of the scores
constexpr int kPosTile = 6;           // positions per score microkernel: 6 × 2 accumulators
constexpr int kRowVecs = 2;           // row vectors per score microkernel
constexpr int kDimVecs = 4;           // value vectors per P·V microkernel (32 elements)
constexpr int kRowChunk = 3;          // rows per P·V microkernel: 3 × 4 accumulators
constexpr int64_t kPvBlock = seekd::kernels::kAttnValueBlock;  // positions per P·V block
static_assert(kPosTile <= seekd::kernels::kAttnKeyTile);
constexpr int64_t kPvPf = 16;  // P·V's value prefetch: positions ahead

// e^x as in f32_avx512.cc: 2^n · p(r), r = x − n·ln2 (ln2 in two parts), degree-6 Taylor
// polynomial, x clamped to [−87, 88]; 2^n (n in [−126, 127]) built in the exponent field.
inline __m256 Exp(__m256 x) {
  x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.0f)), _mm256_set1_ps(88.0f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504089f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.4286068203094172e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 720);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  const __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// Scores of NP positions (key rows kp[0..NP)) for RV·8 rows starting at lane column c0:
// st[p·rp + c0 + lane].
template <int RV, int NP>
void ScoreTile(const float* qt, int64_t rp, int64_t c0, int64_t hd, const float* const* kp,
               float* st) {
  __m256 acc[NP][RV];
  for (int p = 0; p < NP; ++p)
    for (int v = 0; v < RV; ++v) acc[p][v] = _mm256_setzero_ps();
  for (int64_t d = 0; d < hd; ++d) {
    __m256 q[RV];
    for (int v = 0; v < RV; ++v) q[v] = _mm256_loadu_ps(qt + d * rp + c0 + v * kLanes);
    for (int p = 0; p < NP; ++p) {
      const __m256 b = _mm256_broadcast_ss(kp[p] + d);
      for (int v = 0; v < RV; ++v) acc[p][v] = _mm256_fmadd_ps(q[v], b, acc[p][v]);
    }
  }
  for (int p = 0; p < NP; ++p)
    for (int v = 0; v < RV; ++v) _mm256_storeu_ps(st + p * rp + c0 + v * kLanes, acc[p][v]);
}

using ScoreFn = void (*)(const float*, int64_t, int64_t, int64_t, const float* const*, float*);
template <int RV>
constexpr ScoreFn kScoreFns[kPosTile] = {ScoreTile<RV, 1>, ScoreTile<RV, 2>, ScoreTile<RV, 3>,
                                         ScoreTile<RV, 4>, ScoreTile<RV, 5>, ScoreTile<RV, 6>};

// Rows i0 .. i0+NR, value elements [d0, d0 + 8·NV), positions [j0, j1) from cursor c: adds
// Σ_j P[i][j] · V[j][d] in order of j to the partial sums part[i][d] (zero when first), and when
// last writes them times inv[i] to the outputs (f32_avx512.cc's ValueRows on 8 lanes; head_dim
// is a multiple of 8, so every vector is whole). Given pf, one value row is prefetched per
// position.
template <int NR, int NV>
void ValueRows(const AttnTile& t, const float* pt, int64_t rp, int64_t j0, int64_t j1,
               AttnValueCursor c, AttnValuePrefetch* pf, int64_t i0, int64_t d0, float* part,
               bool first, bool last, const float* inv) {
  const int64_t hd = t.head_dim;
  __m256 acc[NR][NV];
#pragma GCC unroll 4
  for (int i = 0; i < NR; ++i)
#pragma GCC unroll 4
    for (int u = 0; u < NV; ++u)
      acc[i][u] =
          first ? _mm256_setzero_ps() : _mm256_loadu_ps(part + (i0 + i) * hd + d0 + u * kLanes);
  for (int64_t j = j0; j < j1; ++j) {
    if (pf != nullptr) pf->Next(t);
    const float* vrow = c.row + d0;
    __m256 v[NV];
#pragma GCC unroll 4
    for (int u = 0; u < NV; ++u) v[u] = _mm256_loadu_ps(vrow + u * kLanes);
    const float* pj = pt + j * rp + i0;
#pragma GCC unroll 4
    for (int i = 0; i < NR; ++i) {
      const __m256 b = _mm256_broadcast_ss(pj + i);
#pragma GCC unroll 4
      for (int u = 0; u < NV; ++u) acc[i][u] = _mm256_fmadd_ps(b, v[u], acc[i][u]);
    }
    if (j + 1 < j1) c.Step(t);
  }
#pragma GCC unroll 4
  for (int i = 0; i < NR; ++i) {
    const __m256 s = _mm256_set1_ps(inv[i0 + i]);
#pragma GCC unroll 4
    for (int u = 0; u < NV; ++u) {
      if (last)
        _mm256_storeu_ps(t.out[i0 + i] + d0 + u * kLanes, _mm256_mul_ps(acc[i][u], s));
      else
        _mm256_storeu_ps(part + (i0 + i) * hd + d0 + u * kLanes, acc[i][u]);
    }
  }
}

using ValueFn = void (*)(const AttnTile&, const float*, int64_t, int64_t, int64_t, AttnValueCursor,
                         AttnValuePrefetch*, int64_t, int64_t, float*, bool, bool, const float*);
template <int NR>
constexpr ValueFn kValueByVecs[kDimVecs] = {ValueRows<NR, 1>, ValueRows<NR, 2>, ValueRows<NR, 3>,
                                            ValueRows<NR, 4>};
constexpr const ValueFn* kValueFns[kRowChunk] = {kValueByVecs<1>, kValueByVecs<2>, kValueByVecs<3>};

// One 8-bit row of an AttnTile (head_dim values, a scale per q8_group) as f32: float(q) · scale,
// rounded once, 8 values at a time.
inline void DequantRow(const AttnTile& t, const int8_t* q, const float* sc, float* out) {
  const int64_t hd = t.head_dim, G = t.q8_group;
  for (int64_t g0 = 0; g0 < hd; g0 += G, ++sc) {  // one scale per group, no division
    const __m256 s = _mm256_set1_ps(*sc);
    for (int64_t d = g0; d < g0 + G; d += kLanes) {
      const __m256 x = _mm256_cvtepi32_ps(
          _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q + d))));
      _mm256_storeu_ps(out + d, _mm256_mul_ps(x, s));
    }
  }
}

// Softmax per lane over its own positions (j < n_vis of the lane's row): the others become
// exact zeros; inv[lane] = 1 / Σ.
void Softmax(float* st, int64_t rp, int64_t max_vis, const int32_t* n_vis, float* inv) {
  for (int64_t c = 0; c < rp; c += kLanes) {
    const __m256i nv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(n_vis + c));
    __m256 m = _mm256_set1_ps(-__builtin_inff());
    for (int64_t j = 0; j < max_vis; ++j) {
      const __m256 live =
          _mm256_castsi256_ps(_mm256_cmpgt_epi32(nv, _mm256_set1_epi32(static_cast<int>(j))));
      m = _mm256_blendv_ps(m, _mm256_max_ps(m, _mm256_loadu_ps(st + j * rp + c)), live);
    }
    __m256 sum = _mm256_setzero_ps();
    for (int64_t j = 0; j < max_vis; ++j) {
      const __m256 live =
          _mm256_castsi256_ps(_mm256_cmpgt_epi32(nv, _mm256_set1_epi32(static_cast<int>(j))));
      float* s = st + j * rp + c;
      const __m256 e = _mm256_and_ps(live, Exp(_mm256_sub_ps(_mm256_loadu_ps(s), m)));
      _mm256_storeu_ps(s, e);
      sum = _mm256_add_ps(sum, e);
    }
    _mm256_storeu_ps(inv + c, _mm256_div_ps(_mm256_set1_ps(1.0f), sum));
  }
}

}  // namespace

namespace seekd::kernels {

// y = gate / (1 + e^−gate) · up, 8 at a time, the tail in scalar code with the same e^x.
void SiluMulAvx2(const float* gate, const float* up, int64_t n, float* y) {
  const __m256 one = _mm256_set1_ps(1.0f), sign = _mm256_set1_ps(-0.0f);
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const __m256 g = _mm256_loadu_ps(gate + i), u = _mm256_loadu_ps(up + i);
    const __m256 e = Exp(_mm256_xor_ps(g, sign));
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(one, e)), u));
  }
  if (i < n) {  // the tail through a zero-padded vector
    alignas(32) float g[kLanes] = {}, u[kLanes] = {}, o[kLanes];
    std::copy(gate + i, gate + n, g);
    std::copy(up + i, up + n, u);
    SiluMulAvx2(g, u, kLanes, o);
    std::copy(o, o + (n - i), y + i);
  }
}

// Called by Attend for head_dim % 8 == 0 and 1 ≤ n_rows ≤ kAttnMaxRows.
void AttendF32Avx2(const AttnTile& t) {
  int64_t max_vis = 0;
  for (int64_t i = 0; i < t.n_rows; ++i) max_vis = t.n_vis[i] > max_vis ? t.n_vis[i] : max_vis;
  const int64_t hd = t.head_dim, rows = t.n_rows;
  const int64_t rp = (rows + kLanes - 1) / kLanes * kLanes;
  float* qt = t.scratch;        // [hd][rp]
  float* st = qt + hd * rp;     // [max_vis][rp]
  int32_t n_vis[kAttnMaxRows];  // 0 for the padding lanes: every position masked
  for (int64_t i = 0; i < rp; ++i) n_vis[i] = i < rows ? static_cast<int32_t>(t.n_vis[i]) : 0;
  for (int64_t d = 0; d < hd; ++d)
    for (int64_t i = 0; i < rp; ++i) qt[d * rp + i] = i < rows ? t.q[i][d] * t.scale : 0.0f;

  // Scores: positions in tiles of up to kPosTile key rows, walking the runs, each tile against
  // every pair of row vectors; a second cursor prefetches kPfPositions ahead.
  // An 8-bit tile's key rows are converted into kbuf first.
  const bool q8 = t.k8 != nullptr;
  float* kbuf = t.scratch + AttnDequantOffset(rows, max_vis, hd);
  const auto row = [&t](const int8_t* q, const float* sc, float* out) {
    DequantRow(t, q, sc, out);
  };
  const float* kp[kPosTile];
  AttnRunCursor keys, ahead;
  int64_t ja = 0;
  for (int64_t j0 = 0; j0 < max_vis; j0 += kPosTile) {
    const int np = static_cast<int>(std::min<int64_t>(max_vis - j0, kPosTile));
    if (q8) {
      PrefetchQ8Rows(t, std::min(max_vis, j0 + kPosTile + kPfPositions), &ja, &ahead, true);
      DequantNextRows(t, t.k8, t.k8_scale, np, &keys, kbuf, row);
      for (int p = 0; p < np; ++p) kp[p] = kbuf + p * hd;
    } else {
      PrefetchKvRows(t, std::min(max_vis, j0 + kPosTile + kPfPositions), &ja, &ahead);
      NextKeyRows(t, np, &keys, kp);
    }
    for (int64_t c0 = 0; c0 < rp; c0 += kRowVecs * kLanes) {
      if (rp - c0 >= kRowVecs * kLanes)
        kScoreFns<kRowVecs>[np - 1](qt, rp, c0, hd, kp, st + j0 * rp);
      else
        kScoreFns<1>[np - 1](qt, rp, c0, hd, kp, st + j0 * rp);
    }
  }

  float inv[kAttnMaxRows];
  Softmax(st, rp, max_vis, n_vis, inv);

  // P·V by blocks of positions (attn_walk.h), every row and value chunk of a block before the
  // next: a 6-row tile walks its positions 8 times (2 row chunks × 4 value chunks), from L2. An
  // 8-bit tile's block of values is converted into vbuf and walked as one f32 run.
  float* part = st + max_vis * rp;  // [rows][hd]
  const auto chunks = [&](const AttnTile& tv, int64_t j0, int64_t j1, const AttnValueCursor& at,
                          AttnValuePrefetch* pf) {
    for (int64_t i0 = 0; i0 < rows; i0 += kRowChunk) {
      const int64_t nr = std::min<int64_t>(rows - i0, kRowChunk);
      for (int64_t d0 = 0; d0 < hd; d0 += kDimVecs * kLanes) {
        const int64_t nv = std::min<int64_t>((hd - d0) / kLanes, kDimVecs);
        kValueFns[nr - 1][nv - 1](tv, st, rp, j0, j1, at, i0 == 0 && d0 == 0 ? pf : nullptr, i0, d0,
                                  part, j0 == 0, j1 == max_vis, inv);
      }
    }
  };
  if (!q8) {
    ForValueBlocks(t, max_vis, kPvBlock, kPvPf,
                   [&](int64_t j0, int64_t j1, const AttnValueCursor& at, AttnValuePrefetch* pf) {
                     chunks(t, j0, j1, at, pf);
                   });
    return;
  }
  ForInt8ValueBlocks(t, max_vis, kPvBlock, kbuf + kAttnKeyTile * hd, row,
                     [&](const AttnTile& tb, int64_t j0, int64_t j1, const AttnValueCursor& at) {
                       chunks(tb, j0, j1, at, nullptr);
                     });
}

}  // namespace seekd::kernels
