// The packed F16 and BF16 GEMM on AVX2 (F16C widening, f32 FMA): the AVX-512 tables' layouts
// (packed_float_layouts.inc) and float orders — F16: acc = fma(w[r, k], x[t, k], acc) in order
// of k; BF16 (the widening variant): the same over each column pair, even column first — so a
// packed copy serves both tables and both give the same bits. Activations are f32 rows
// (ActFormat::kF32), read as they are. Intrinsics and plain C in an anonymous namespace, as in
// the other wide files.
//
// A group's 16 rows are two 8-row halves, one ymm each: 16 bytes of f16 (vcvtph2ps), or 32 bytes
// of bf16 pairs (a shift gives the even column, a mask the odd one, both exact).
#include <immintrin.h>

#include <cstdint>

#include "core/kernels/packed.h"

namespace {

constexpr int kRows = 16;
#include "core/kernels/packed_float_layouts.inc"  // NOLINT(bugprone-suspicious-include)
#include "core/kernels/packed_prefetch.inc"       // NOLINT(bugprone-suspicious-include)

constexpr int kMaxTok = 12;      // tokens per microkernel call: 12 accumulators of 16 registers
constexpr int kGroupBlock = 16;  // row groups whose K-chunk stays in L2 across token blocks

// One weight unit (an F16 column, a BF16 column pair) of half h of a group, applied to token x's
// elements: the whole float order of a type.
struct F16 {
  static constexpr int64_t kCols = 1, kBytes = 32;  // columns and group bytes per unit
  static __m256 Step(const uint8_t* wu, int h, const float* x, __m256 acc) {
    const __m256 w = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(wu + 16 * h)));
    return _mm256_fmadd_ps(w, _mm256_broadcast_ss(x), acc);
  }
};
struct BF16 {
  static constexpr int64_t kCols = 2, kBytes = 64;
  static __m256 Step(const uint8_t* wu, int h, const float* x, __m256 acc) {
    const __m256i v = _mm256_load_si256(reinterpret_cast<const __m256i*>(wu + 32 * h));
    const __m256 even = _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    const __m256 odd =
        _mm256_castsi256_ps(_mm256_and_si256(v, _mm256_set1_epi32(static_cast<int>(0xFFFF0000))));
    acc = _mm256_fmadd_ps(even, _mm256_broadcast_ss(x), acc);
    return _mm256_fmadd_ps(odd, _mm256_broadcast_ss(x + 1), acc);
  }
};

// NT tokens × half h of one group over units [u0, u1): y + t·ldy (8 floats) from y, or from 0
// when `first`, and back.
template <class T, int NT>
void Micro(const uint8_t* wg, int h, const float* x, int64_t ldx, int64_t u0, int64_t u1, float* y,
           int64_t ldy, bool first) {
  __m256 acc[NT];
#pragma GCC unroll 12
  for (int t = 0; t < NT; ++t) acc[t] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(y + t * ldy);
  for (int64_t u = u0; u < u1; ++u) {
    const uint8_t* wu = wg + u * T::kBytes;
#pragma GCC unroll 12
    for (int t = 0; t < NT; ++t) acc[t] = T::Step(wu, h, x + t * ldx + u * T::kCols, acc[t]);
  }
#pragma GCC unroll 12
  for (int t = 0; t < NT; ++t) _mm256_storeu_ps(y + t * ldy, acc[t]);
}

template <class T>
struct Float {
  using MicroFn = void (*)(const uint8_t*, int, const float*, int64_t, int64_t, int64_t, float*,
                           int64_t, bool);
  static constexpr MicroFn kMicro[kMaxTok] = {
      Micro<T, 1>, Micro<T, 2>, Micro<T, 3>, Micro<T, 4>,  Micro<T, 5>,  Micro<T, 6>,
      Micro<T, 7>, Micro<T, 8>, Micro<T, 9>, Micro<T, 10>, Micro<T, 11>, Micro<T, 12>};
  static constexpr int64_t kChunk = 256 / T::kCols;  // units per K-chunk: 256 columns

  // Prefill and decode batches: K-chunk > 16 row groups > token blocks of up to 12 (as even as
  // they go) > group > half. `panel` is the f32 activation rows.
  static void Gemm(const uint8_t* w, int64_t n_rows, int64_t n_cols, const uint8_t* panel,
                   int64_t n_tokens, float* y, int64_t g0, int64_t g1) {
    const auto* x = reinterpret_cast<const float*>(panel);
    const int64_t units = n_cols / T::kCols, gs = units * T::kBytes;
    const int64_t nblk = (n_tokens + kMaxTok - 1) / kMaxTok;
    for (int64_t u0 = 0; u0 < units; u0 += kChunk) {
      const int64_t u1 = u0 + kChunk < units ? u0 + kChunk : units;
      for (int64_t gb = g0; gb < g1; gb += kGroupBlock) {
        const int64_t ge = gb + kGroupBlock < g1 ? gb + kGroupBlock : g1;
        for (int64_t b = 0; b < nblk; ++b) {
          const int64_t t0 = n_tokens * b / nblk, t1 = n_tokens * (b + 1) / nblk;
          for (int64_t g = gb; g < ge; ++g)
            for (int h = 0; h < 2; ++h)
              kMicro[t1 - t0 - 1](w + g * gs, h, x + t0 * n_cols, n_cols, u0, u1,
                                  y + t0 * n_rows + g * kRows + 8 * h, n_rows, u0 == 0);
        }
      }
    }
  }

  // Decode: two groups' four halves at a time (four FMA chains), each line prefetched 2 KiB
  // ahead into L2.
  static void Gemv(const uint8_t* w, int64_t /*n_rows*/, int64_t n_cols, const void* xv, float* y,
                   int64_t g0, int64_t g1) {
    const auto* x = static_cast<const float*>(xv);
    const int64_t units = n_cols / T::kCols, gs = units * T::kBytes;
    constexpr int64_t kLine = 64 / T::kBytes;  // units per cache line
    int64_t g = g0;
    for (; g + 2 <= g1; g += 2) {
      const uint8_t* a = w + g * gs;
      __m256 s[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
      for (int64_t u = 0; u < units; ++u) {
        if (u % kLine == 0) {
          PrefetchL2(a + u * T::kBytes + 2048);
          PrefetchL2(a + gs + u * T::kBytes + 2048);
        }
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j)
          s[j] = T::Step(a + (j / 2) * gs + u * T::kBytes, j % 2, x + u * T::kCols, s[j]);
      }
#pragma GCC unroll 4
      for (int j = 0; j < 4; ++j) _mm256_storeu_ps(y + g * kRows + 8 * j, s[j]);
    }
    for (; g < g1; ++g)
      for (int h = 0; h < 2; ++h)
        Micro<T, 1>(w + g * gs, h, x, 0, 0, units, y + g * kRows + 8 * h, 0, true);
  }

  static void GemvMulti(const uint8_t* w, int64_t n_rows, int64_t n_cols, const void* x,
                        int64_t n_tok, float* y, int64_t g0, int64_t g1) {
    Gemm(w, n_rows, n_cols, static_cast<const uint8_t*>(x), n_tok, y, g0, g1);
  }
};

}  // namespace

namespace seekd::kernels {

PackedGemm PackedFloatGemmAvx2(DType t) {
  if (t != DType::kF16 && t != DType::kBF16) return {};
  const bool f16 = t == DType::kF16;
  PackedGemm p;
  p.act = ActFormat::kF32;
  p.bytes = Bytes16Bit;
  p.layout = f16 ? kF16Layout : kBF16Layout;
  p.pack = f16 ? PackF16 : PackBF16;
  p.gemv = f16 ? Float<F16>::Gemv : Float<BF16>::Gemv;
  p.gemv_multi = f16 ? Float<F16>::GemvMulti : Float<BF16>::GemvMulti;
  p.gemm = f16 ? Float<F16>::Gemm : Float<BF16>::Gemm;
  return p;
}

}  // namespace seekd::kernels
