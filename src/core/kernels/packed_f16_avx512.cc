// The packed F16 GEMM on AVX-512 (F16C conversion, f32 FMA): f16 weights stay f16 in memory
// (the file's bytes, rearranged) and are widened to f32 in registers; activations stay f32
// (ActFormat::kF32), so the "panel" is the activation rows themselves.
//
// Packed group (16 rows): [K][16] f16 — for each column k, the 16 rows' weights side by side,
// one 256-bit load that vcvtph2ps widens to a vector of the 16 rows.
// Float order, every variant: for each output (r, t), acc = 0 and for k = 0 … K − 1
//   acc = fma(w[r, k], x[t, k], acc)
// so decode (gemv), decode batches and prefill (gemm), any tile or thread split, agree bit for
// bit. Intrinsics and plain C in an anonymous namespace, as in the other wide files.
#include <immintrin.h>

#include <cstdint>
#include <cstring>

#include "core/kernels/packed.h"

namespace {

constexpr int kRows = 16;
constexpr int kTile = 12;        // tokens per tile: two groups × 12 tokens are 24 accumulators
constexpr int64_t kChunk = 256;  // columns per K-chunk: a tile's 12 × 256 f32 stay in L1
constexpr int kGroupBlock = 16;  // row groups whose K-chunk (8 KB each) stays in L2

#include "core/kernels/packed_float_layouts.inc"  // NOLINT(bugprone-suspicious-include)

inline __m512 Widen(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(p)));
}

// NT tokens × one group over columns [k0, k1): acc[t] += w_k · x[t][k] in order of k. x points at
// token 0's column k0, token t's row ldx floats further.
template <int NT>
void Micro(const uint16_t* wg, const float* x, int64_t ldx, int64_t k0, int64_t k1, float* y,
           int64_t ldy, bool first) {
  __m512 acc[NT];
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) acc[t] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + t * ldy);
  for (int64_t k = k0; k < k1; ++k) {
    const __m512 w = Widen(wg + k * kRows);
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t)
      acc[t] = _mm512_fmadd_ps(w, _mm512_set1_ps(x[t * ldx + (k - k0)]), acc[t]);
  }
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
}

// NT tokens × two adjacent groups (wg, wg + gstride; outputs y and y + 16), the same order per
// output. Each broadcast activation feeds two FMAs, and the tile's rows come from one panel
// (kChunk floats per token), so one base register addresses every token.
template <int NT>
void Micro2(const uint16_t* wg, int64_t gstride, const float* xp, int64_t k0, int64_t k1, float* y,
            int64_t ldy, bool first) {
  __m512 a0[NT], a1[NT];
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) {
    a0[t] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + t * ldy);
    a1[t] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + t * ldy + kRows);
  }
  const uint16_t* w0 = wg + k0 * kRows;
  const uint16_t* w1 = w0 + gstride;
  for (int64_t k = 0; k < k1 - k0; ++k) {
    const __m512 v0 = Widen(w0 + k * kRows), v1 = Widen(w1 + k * kRows);
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) {
      const __m512 b = _mm512_set1_ps(xp[t * kChunk + k]);
      a0[t] = _mm512_fmadd_ps(v0, b, a0[t]);
      a1[t] = _mm512_fmadd_ps(v1, b, a1[t]);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) {
    _mm512_storeu_ps(y + t * ldy, a0[t]);
    _mm512_storeu_ps(y + t * ldy + kRows, a1[t]);
  }
}

using MicroFn = void (*)(const uint16_t*, const float*, int64_t, int64_t, int64_t, float*, int64_t,
                         bool);
constexpr MicroFn kMicro[kTile] = {Micro<1>, Micro<2>, Micro<3>, Micro<4>,  Micro<5>,  Micro<6>,
                                   Micro<7>, Micro<8>, Micro<9>, Micro<10>, Micro<11>, Micro<12>};
using Micro2Fn = void (*)(const uint16_t*, int64_t, const float*, int64_t, int64_t, float*, int64_t,
                          bool);
constexpr Micro2Fn kMicro2[kTile] = {Micro2<1>, Micro2<2>,  Micro2<3>,  Micro2<4>,
                                     Micro2<5>, Micro2<6>,  Micro2<7>,  Micro2<8>,
                                     Micro2<9>, Micro2<10>, Micro2<11>, Micro2<12>};

// Prefill and decode batches: K-chunk > 16 row groups > token tile (its K-chunk of activations
// copied into an L1 panel) > pair of row groups.
void GemmF16(const uint8_t* w, int64_t n_rows, int64_t n_cols, const uint8_t* panel,
             int64_t n_tokens, float* y, int64_t g0, int64_t g1) {
  const auto* wp = reinterpret_cast<const uint16_t*>(w);
  const auto* x = reinterpret_cast<const float*>(panel);
  const int64_t gstride = n_cols * kRows;
  alignas(64) float xp[kTile * kChunk];
  for (int64_t k0 = 0; k0 < n_cols; k0 += kChunk) {
    const int64_t k1 = k0 + kChunk < n_cols ? k0 + kChunk : n_cols;
    for (int64_t gb = g0; gb < g1; gb += kGroupBlock) {
      const int64_t ge = gb + kGroupBlock < g1 ? gb + kGroupBlock : g1;
      for (int64_t t0 = 0; t0 < n_tokens; t0 += kTile) {
        const int nt = static_cast<int>(n_tokens - t0 < kTile ? n_tokens - t0 : kTile);
        for (int t = 0; t < nt; ++t)
          std::memcpy(xp + t * kChunk, x + (t0 + t) * n_cols + k0,
                      static_cast<size_t>(k1 - k0) * sizeof(float));
        float* yt = y + t0 * n_rows;
        int64_t g = gb;
        for (; g + 2 <= ge; g += 2)
          kMicro2[nt - 1](wp + g * gstride, gstride, xp, k0, k1, yt + g * kRows, n_rows, k0 == 0);
        if (g < ge)
          kMicro[nt - 1](wp + g * gstride, xp, kChunk, k0, k1, yt + g * kRows, n_rows, k0 == 0);
      }
    }
  }
}

// Decode: four groups at a time, so four FMA chains hide the latency of each. The four streams
// are prefetched non-temporally (read once): against prefetcht1 into L2, F16 decode read a
// median 92% of the bandwidth limit against 89% (7 alternating pairs on Zen 5;
// docs/BENCHMARKS.md, "Non-temporal decode prefetch").
void GemvF16(const uint8_t* w, int64_t /*n_rows*/, int64_t n_cols, const void* xv, float* y,
             int64_t g0, int64_t g1) {
  const auto* wp = reinterpret_cast<const uint16_t*>(w);
  const auto* x = static_cast<const float*>(xv);
  int64_t g = g0;
  for (; g + 4 <= g1; g += 4) {
    const uint16_t* a = wp + g * n_cols * kRows;
    const int64_t gs = n_cols * kRows;
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t k = 0; k < n_cols; ++k) {
      seekd::kernels::PrefetchStream(a + (k + 64) * kRows);
      seekd::kernels::PrefetchStream(a + gs + (k + 64) * kRows);
      seekd::kernels::PrefetchStream(a + 2 * gs + (k + 64) * kRows);
      seekd::kernels::PrefetchStream(a + 3 * gs + (k + 64) * kRows);
      const __m512 xk = _mm512_set1_ps(x[k]);
      s0 = _mm512_fmadd_ps(Widen(a + k * kRows), xk, s0);
      s1 = _mm512_fmadd_ps(Widen(a + gs + k * kRows), xk, s1);
      s2 = _mm512_fmadd_ps(Widen(a + 2 * gs + k * kRows), xk, s2);
      s3 = _mm512_fmadd_ps(Widen(a + 3 * gs + k * kRows), xk, s3);
    }
    _mm512_storeu_ps(y + g * kRows, s0);
    _mm512_storeu_ps(y + (g + 1) * kRows, s1);
    _mm512_storeu_ps(y + (g + 2) * kRows, s2);
    _mm512_storeu_ps(y + (g + 3) * kRows, s3);
  }
  for (; g < g1; ++g)
    Micro<1>(wp + g * n_cols * kRows, x, n_cols, 0, n_cols, y + g * kRows, 0, true);
}

void GemvMultiF16(const uint8_t* w, int64_t n_rows, int64_t n_cols, const void* x, int64_t n_tok,
                  float* y, int64_t g0, int64_t g1) {
  GemmF16(w, n_rows, n_cols, static_cast<const uint8_t*>(x), n_tok, y, g0, g1);
}

}  // namespace

namespace seekd::kernels {

PackedGemm PackedF16Gemm() {
  PackedGemm p;
  p.act = ActFormat::kF32;
  p.layout = kF16Layout;
  p.bytes = Bytes16Bit;
  p.pack = PackF16;
  p.gemv = GemvF16;
  p.gemv_multi = GemvMultiF16;
  p.gemm = GemmF16;
  return p;
}

}  // namespace seekd::kernels
