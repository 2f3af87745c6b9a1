// The packed BF16 GEMM on AVX-512: bf16 weights stay bf16 in memory (the file's bytes,
// rearranged). Two variants share one layout:
//   - dpbf16 (the CPU has AVX-512 BF16): activations are rounded to bf16 (round to nearest
//     even, ActFormat::kBF16) and vdpbf16ps multiplies a pair of columns per instruction, 32
//     multiply-adds per vector — twice the f32 FMA rate, and decode reads the weights with no
//     widening at all;
//   - widen (AVX-512 without BF16): activations stay f32 (ActFormat::kF32); each weight is
//     widened to f32 exactly (a 16-bit shift) and multiplied with f32 FMA.
//
// Packed group (16 rows): [K/2][16][2] bf16 — for each column pair p, the 16 rows' weights
// (w[r, 2p], w[r, 2p+1]) side by side: one 64-byte load is the vdpbf16ps operand for 16 rows.
// Float order, every call of a variant: for each output (r, t), acc = 0 and for p = 0 … K/2 − 1
//   dpbf16: acc = vdpbf16ps(acc, w[r, 2p..2p+1], bf16(x[t, 2p..2p+1]))
//   widen:  acc = fma(w[r, 2p], x[t, 2p], acc); acc = fma(w[r, 2p+1], x[t, 2p+1], acc)
// so decode (gemv), decode batches and prefill (gemm), any tile or thread split, agree bit for
// bit. K is even (the loader packs only K % 32 == 0).
#include <cpuid.h>
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "core/kernels/packed.h"

namespace {

constexpr int kRows = 16;
constexpr int kTile = 12;             // tokens per tile: two groups × 12 tokens, 24 accumulators
constexpr int64_t kChunkPairs = 128;  // column pairs per K-chunk: a tile's panel stays in L1
constexpr int kGroupBlock = 16;       // row groups whose K-chunk (8 KB each) stays in L2

#include "core/kernels/packed_float_layouts.inc"  // NOLINT(bugprone-suspicious-include)

inline __m512i LoadPair(const uint32_t* p) {
  return _mm512_load_si512(reinterpret_cast<const __m512i*>(p));
}

// ---- dpbf16 -------------------------------------------------------------------------------

inline __m512 Dp(__m512 acc, __m512i w, uint32_t x_pair) {
  return _mm512_dpbf16_ps(acc, reinterpret_cast<__m512bh>(w),
                          reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(x_pair))));
}

// Rounds f32 rows to bf16 rows (round to nearest even): tokens of tiles [t0, t1).
void RoundRows(const void* xv, int64_t n_tokens, int64_t n_cols, int64_t t0, int64_t t1,
               uint8_t* panel) {
  const auto* x = static_cast<const float*>(xv);
  auto* o = reinterpret_cast<uint16_t*>(panel);
  const int64_t e0 = t0 * seekd::kernels::kPanelTokens * n_cols;
  const int64_t e1 = std::min(t1 * seekd::kernels::kPanelTokens, n_tokens) * n_cols;
  int64_t i = e0;
  for (; i + 16 <= e1; i += 16)
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o + i),
                        reinterpret_cast<__m256i>(_mm512_cvtneps_pbh(_mm512_loadu_ps(x + i))));
  if (i < e1) {
    const auto m = static_cast<__mmask16>((1u << (e1 - i)) - 1);
    const __m256bh b = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, x + i));
    _mm256_mask_storeu_epi16(o + i, m, reinterpret_cast<__m256i>(b));
  }
}

// ---- widen --------------------------------------------------------------------------------

inline __m512 Even(__m512i w) { return _mm512_castsi512_ps(_mm512_slli_epi32(w, 16)); }
inline __m512 Odd(__m512i w) {
  return _mm512_castsi512_ps(_mm512_and_si512(w, _mm512_set1_epi32(static_cast<int>(0xffff0000u))));
}

// ---- both ---------------------------------------------------------------------------------

template <bool kDp>
struct Variant {
  using X = std::conditional_t<kDp, uint32_t, float>;  // a pair of bf16, or one f32
  static constexpr int64_t kXPerPair = kDp ? 1 : 2;
  static constexpr int64_t kPanelX = kChunkPairs * kXPerPair;  // panel elements per token
  using MicroFn = void (*)(const uint32_t*, const X*, int64_t, int64_t, int64_t, float*, int64_t,
                           bool);
  // One column pair p of one token into acc: the whole float order of a variant.
  static __m512 Step(__m512 acc, __m512i w, const X* x, int64_t p) {
    if constexpr (kDp) {
      return Dp(acc, w, x[p]);
    } else {
      acc = _mm512_fmadd_ps(Even(w), _mm512_set1_ps(x[2 * p]), acc);
      return _mm512_fmadd_ps(Odd(w), _mm512_set1_ps(x[2 * p + 1]), acc);
    }
  }

  // NT tokens × one group over column pairs [p0, p1): acc[t] += w_p · x[t]_p in order of p. x
  // points at token 0's pair p0, token t's ldx elements further.
  template <int NT>
  static void Micro(const uint32_t* wg, const X* x, int64_t ldx, int64_t p0, int64_t p1, float* y,
                    int64_t ldy, bool first) {
    __m512 acc[NT];
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t)
      acc[t] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + t * ldy);
    for (int64_t p = p0; p < p1; ++p) {
      const __m512i w = LoadPair(wg + p * kRows);
#pragma GCC unroll 16
      for (int t = 0; t < NT; ++t) acc[t] = Step(acc[t], w, x + t * ldx, p - p0);
    }
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * ldy, acc[t]);
  }

  // NT tokens × two adjacent groups (wg, wg + gstride; outputs y and y + 16) over the tile's
  // panel (kPanelX elements per token, from pair p0), each output in Step's order. Each
  // broadcast activation feeds two groups, and one base register addresses every token.
  template <int NT>
  static void Micro2(const uint32_t* wg, int64_t gstride, const X* xp, int64_t p0, int64_t p1,
                     float* y, int64_t ldy, bool first) {
    __m512 a0[NT], a1[NT];
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) {
      a0[t] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + t * ldy);
      a1[t] = first ? _mm512_setzero_ps() : _mm512_loadu_ps(y + t * ldy + kRows);
    }
    const uint32_t* w0 = wg + p0 * kRows;
    const uint32_t* w1 = w0 + gstride;
    for (int64_t p = 0; p < p1 - p0; ++p) {
      const __m512i u0 = LoadPair(w0 + p * kRows), u1 = LoadPair(w1 + p * kRows);
      if constexpr (kDp) {
#pragma GCC unroll 16
        for (int t = 0; t < NT; ++t) {
          const auto b =
              reinterpret_cast<__m512bh>(_mm512_set1_epi32(static_cast<int>(xp[t * kPanelX + p])));
          a0[t] = _mm512_dpbf16_ps(a0[t], reinterpret_cast<__m512bh>(u0), b);
          a1[t] = _mm512_dpbf16_ps(a1[t], reinterpret_cast<__m512bh>(u1), b);
        }
      } else {
        const __m512 e0 = Even(u0), o0 = Odd(u0), e1 = Even(u1), o1 = Odd(u1);
#pragma GCC unroll 16
        for (int t = 0; t < NT; ++t) {
          const __m512 xe = _mm512_set1_ps(xp[t * kPanelX + 2 * p]);
          const __m512 xo = _mm512_set1_ps(xp[t * kPanelX + 2 * p + 1]);
          a0[t] = _mm512_fmadd_ps(o0, xo, _mm512_fmadd_ps(e0, xe, a0[t]));
          a1[t] = _mm512_fmadd_ps(o1, xo, _mm512_fmadd_ps(e1, xe, a1[t]));
        }
      }
    }
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) {
      _mm512_storeu_ps(y + t * ldy, a0[t]);
      _mm512_storeu_ps(y + t * ldy + kRows, a1[t]);
    }
  }
  static constexpr MicroFn kMicro[kTile] = {Micro<1>, Micro<2>,  Micro<3>,  Micro<4>,
                                            Micro<5>, Micro<6>,  Micro<7>,  Micro<8>,
                                            Micro<9>, Micro<10>, Micro<11>, Micro<12>};
  using Micro2Fn = void (*)(const uint32_t*, int64_t, const X*, int64_t, int64_t, float*, int64_t,
                            bool);
  static constexpr Micro2Fn kMicro2[kTile] = {Micro2<1>, Micro2<2>,  Micro2<3>,  Micro2<4>,
                                              Micro2<5>, Micro2<6>,  Micro2<7>,  Micro2<8>,
                                              Micro2<9>, Micro2<10>, Micro2<11>, Micro2<12>};

  // Prefill and decode batches: K-chunk > 16 row groups > token tile (its K-chunk of
  // activations copied into an L1 panel) > pair of row groups. `panel` is the activation rows
  // (bf16 for dpbf16, f32 for widen).
  static void Gemm(const uint8_t* w, int64_t n_rows, int64_t n_cols, const uint8_t* panel,
                   int64_t n_tokens, float* y, int64_t g0, int64_t g1) {
    const auto* wp = reinterpret_cast<const uint32_t*>(w);
    const auto* x = reinterpret_cast<const X*>(panel);
    const int64_t pairs = n_cols / 2, ldx = pairs * kXPerPair, gstride = pairs * kRows;
    alignas(64) X xp[kTile * kPanelX];
    for (int64_t p0 = 0; p0 < pairs; p0 += kChunkPairs) {
      const int64_t p1 = p0 + kChunkPairs < pairs ? p0 + kChunkPairs : pairs;
      for (int64_t gb = g0; gb < g1; gb += kGroupBlock) {
        const int64_t ge = gb + kGroupBlock < g1 ? gb + kGroupBlock : g1;
        for (int64_t t0 = 0; t0 < n_tokens; t0 += kTile) {
          const int nt = static_cast<int>(n_tokens - t0 < kTile ? n_tokens - t0 : kTile);
          for (int t = 0; t < nt; ++t)
            std::memcpy(xp + t * kPanelX, x + (t0 + t) * ldx + p0 * kXPerPair,
                        static_cast<size_t>((p1 - p0) * kXPerPair) * sizeof(X));
          float* yt = y + t0 * n_rows;
          int64_t g = gb;
          for (; g + 2 <= ge; g += 2)
            kMicro2[nt - 1](wp + g * gstride, gstride, xp, p0, p1, yt + g * kRows, n_rows, p0 == 0);
          if (g < ge)
            kMicro[nt - 1](wp + g * gstride, xp, kPanelX, p0, p1, yt + g * kRows, n_rows, p0 == 0);
        }
      }
    }
  }

  // Decode: four groups at a time, so four chains hide each one's latency.
  static void Gemv(const uint8_t* w, int64_t /*n_rows*/, int64_t n_cols, const void* xv, float* y,
                   int64_t g0, int64_t g1) {
    const auto* wp = reinterpret_cast<const uint32_t*>(w);
    const auto* x = static_cast<const X*>(xv);
    const int64_t pairs = n_cols / 2, gs = pairs * kRows;
    int64_t g = g0;
    for (; g + 4 <= g1; g += 4) {
      const uint32_t* a = wp + g * gs;
      __m512 s[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                     _mm512_setzero_ps()};
      for (int64_t p = 0; p < pairs; ++p) {
#pragma GCC unroll 4
        for (int j = 0; j < 4; ++j) {
          const uint32_t* q = a + j * gs + p * kRows;
          _mm_prefetch(reinterpret_cast<const char*>(q + 32 * kRows), _MM_HINT_T0);
          s[j] = Step(s[j], LoadPair(q), x, p);
        }
      }
      for (int j = 0; j < 4; ++j) _mm512_storeu_ps(y + (g + j) * kRows, s[j]);
    }
    for (; g < g1; ++g) Micro<1>(wp + g * gs, x, 0, 0, pairs, y + g * kRows, 0, true);
  }

  static void GemvMulti(const uint8_t* w, int64_t n_rows, int64_t n_cols, const void* x,
                        int64_t n_tok, float* y, int64_t g0, int64_t g1) {
    Gemm(w, n_rows, n_cols, static_cast<const uint8_t*>(x), n_tok, y, g0, g1);
  }
};

bool DetectBf16() {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return false;
  return (a >> 5) & 1;  // AVX512_BF16 (the OS saving zmm state is checked with the table)
}

}  // namespace

namespace seekd::kernels {

bool Bf16Usable() {
  static const bool usable = DetectBf16();
  return usable;
}

bool Bf16DotChosen() {
  static const bool chosen = [] {
    const char* env = std::getenv("SEEKD_BF16_DOT");
    return Bf16Usable() && env != nullptr && env[0] == '1';
  }();
  return chosen;
}

PackedGemm PackedBF16Gemm(bool dpbf16) {
  PackedGemm p;
  p.layout = kBF16Layout;  // both variants
  p.bytes = Bytes16Bit;
  p.pack = PackBF16;
  if (dpbf16) {
    if (!Bf16Usable()) return PackedGemm{};
    p.act = ActFormat::kBF16;
    p.panel_bytes = Bytes16Bit;  // bf16 rows: 2 bytes an element, as the weights
    p.pack_panel = RoundRows;
    p.gemv = Variant<true>::Gemv;
    p.gemv_multi = Variant<true>::GemvMulti;
    p.gemm = Variant<true>::Gemm;
  } else {
    p.act = ActFormat::kF32;
    p.gemv = Variant<false>::Gemv;
    p.gemv_multi = Variant<false>::GemvMulti;
    p.gemm = Variant<false>::Gemm;
  }
  return p;
}

uint64_t SpinBf16(int64_t iters) {
  if (!Bf16Usable()) return 0;
  __m512 acc[8];
  for (__m512& a : acc) a = _mm512_setzero_ps();
  volatile int zero_bits = 0;  // not a constant the compiler could fold the products with
  const __m512i one = _mm512_set1_epi32(0x3f803f80);  // (1.0, 1.0) in bf16
  const __m512i tiny = _mm512_set1_epi32(zero_bits);
  for (int64_t i = 0; i < iters; ++i)
#pragma GCC unroll 8
    for (__m512& a : acc)
      a = _mm512_dpbf16_ps(a, reinterpret_cast<__m512bh>(one), reinterpret_cast<__m512bh>(tiny));
  __m512 s = acc[0];
  for (int j = 1; j < 8; ++j) s = _mm512_add_ps(s, acc[j]);
  volatile float sink = _mm512_reduce_add_ps(s);
  (void)sink;
  return static_cast<uint64_t>(iters) * 8 * 32;
}

}  // namespace seekd::kernels
