// The packed int8 GEMM (layouts and float order: core/kernels/packed.h), compiled for AVX-512
// VNNI and AMX-INT8. Like x86_kernels.inc, everything here is intrinsics and plain C in an
// anonymous namespace (no std:: templates), so the linker can never pick a wide-instruction copy
// of an inline function for baseline code.
//
// Speed notes (measured with the prototype behind docs/BENCHMARKS.md's GEMM section):
//   - VNNI prefill: 16 rows × 16 tokens per microkernel, chunk-outer with all 16 tokens'
//     vpdpbusd chains at once (8 at a time left the multiplier idle part of each chain's
//     latency); per block 128 vpdpbusd with the 4 activation bytes as an embedded {1to16}
//     broadcast, and per token a scale product and an fma that take a multiplier slot each:
//     at most 128 / 160 = 80% of the vpdpbusd peak, 65–72% reached.
//   - AMX prefill: 2 row groups × 2 token tiles of tdpbssd per 32-k block on a signed copy of the
//     weights; C goes through a hot 4 KB buffer after every block for the per-block scales.
//   - Decode: memory-bound; one row group at a time, one linear stream of block pairs with a
//     software prefetch 4 KiB (Q8_0) / 8 KiB (Q4_0) ahead that runs on into the next group.
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/kernels/packed.h"
#include "core/quant.h"

namespace {

using seekd::kernels::BlockQ8A;

#include "core/kernels/packed_common.inc"  // NOLINT(bugprone-suspicious-include)

uint64_t PanelBytes(int64_t n_tokens, int64_t n_cols) {
  return static_cast<uint64_t>((n_tokens + kTileTok - 1) / kTileTok) *
         static_cast<uint64_t>(n_cols / 32) * kPanelBlock;
}

template <int kCorr>
void PackPanel(const void* src, int64_t n_tokens, int64_t n_cols, int64_t t0, int64_t t1,
               uint8_t* panel) {
  const auto* x = static_cast<const BlockQ8A*>(src);
  const int64_t nb = n_cols / 32;
  for (int64_t tt = t0; tt < t1; ++tt)
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* p = panel + static_cast<uint64_t>(tt * nb + b) * kPanelBlock;
      auto* da = reinterpret_cast<float*>(p + 512);
      auto* corr = reinterpret_cast<int32_t*>(p + 576);
      for (int t = 0; t < kTileTok; ++t) {
        const int64_t tok = tt * kTileTok + t;
        if (tok < n_tokens) {
          const BlockQ8A& blk = x[tok * nb + b];
          std::memcpy(p + t * 32, blk.qs, 32);
          da[t] = blk.d;
          corr[t] = -kCorr * blk.sum;
        } else {
          std::memset(p + t * 32, 0, 32);
          da[t] = 0.0f;
          corr[t] = 0;
        }
      }
    }
}

// nblk Q4_0 blocks of one group from an even block (wp: their pairs) → the Q8_0 pair layout of
// unsigned nibbles (no +128), the scales copied beside them.
void UnpackQ4Group(const uint8_t* wp, int nblk, uint8_t* out) {
  for (int b = 0; b < nblk; ++b) {
    const uint8_t* wq = wp + QuantOff(b, true);
    uint8_t* o = out + QuantOff(b, false);
    for (int v = 0; v < 4; ++v) {
      __m512i lo, hi;
      UnpackNibbles(_mm512_load_si512(wq + 64 * v), &lo, &hi);
      _mm512_store_si512(o + 64 * v, lo);
      _mm512_store_si512(o + 256 + 64 * v, hi);
    }
    _mm256_store_si256(reinterpret_cast<__m256i*>(out + ScaleOff(b, false)),
                       _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + ScaleOff(b, true))));
  }
}

// One 16-row group × the first NT tokens of a tile over nblk blocks of the Q8_0 pair layout
// from an even block (wp); NT chains per 64-byte chunk (packed_common.inc, "Prefill
// microkernels").
template <int NT>
void MicroQ8(const uint8_t* wp, const uint8_t* ap, int nblk, float* y, int64_t ldy, int ntok,
             bool first) {
  alignas(64) float accm[NT][16];
  LoadTileSums<NT>(accm, y, ldy, ntok, first);
  for (int b = 0; b < nblk; ++b, ap += kPanelBlock) {
    const uint8_t* wq = wp + QuantOff(b, false);
    const auto* aq = reinterpret_cast<const int32_t*>(ap);
    const auto* da = reinterpret_cast<const float*>(ap + 512);
    const auto* corr = reinterpret_cast<const int32_t*>(ap + 576);
    __m512i isum[NT];
#pragma GCC unroll 16
    for (int i = 0; i < NT; ++i) isum[i] = BcastLoad(corr + i);  // starts at −C·Σa
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      const __m512i w = LoadChunk(wq + 64 * c);
#pragma GCC unroll 16
      for (int i = 0; i < NT; ++i) isum[i] = DpbusdBcast(isum[i], w, aq + i * 8 + c);
    }
    const __m512 dw = _mm512_cvtph_ps(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + ScaleOff(b, false))));
#pragma GCC unroll 16
    for (int i = 0; i < NT; ++i) {
      const __m512 s = _mm512_mul_ps(dw, _mm512_set1_ps(da[i]));
      _mm512_store_ps(accm[i],
                      _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[i]), s, _mm512_load_ps(accm[i])));
    }
  }
  StoreTileSums<NT>(accm, y, ldy, ntok);
}
// Two adjacent groups (wp0, wp1: the same blocks of groups g, g + 1; y and y + 16) × 8 tokens
// of a tile (ap: their panel block, the tile's token 8·half first): each activation dword is
// broadcast into a register once and feeds both groups' chains. MicroQ8 broadcasts it from
// memory per vpdpbusd, and with vector loads issuing two a cycle, as vpdpbusd does, its ~1.4
// loads per vpdpbusd bound it below its multiplies (docs/BENCHMARKS.md, "Vector loads: the
// other half of the int8 kernels' bound"). The same order per output as MicroQ8.
template <int kHalf>
void MicroQ8Pair(const uint8_t* wp0, const uint8_t* wp1, const uint8_t* ap, int nblk, float* y,
                 int64_t ldy, int ntok, bool first) {
  constexpr int NT = 8;
  alignas(64) float accm[2][NT][16];
  LoadTileSums<NT>(accm[0], y, ldy, ntok, first);
  LoadTileSums<NT>(accm[1], y + 16, ldy, ntok, first);
  for (int b = 0; b < nblk; ++b, ap += kPanelBlock) {
    const uint8_t* wq0 = wp0 + QuantOff(b, false);
    const uint8_t* wq1 = wp1 + QuantOff(b, false);
    const auto* aq = reinterpret_cast<const int32_t*>(ap) + kHalf * NT * 8;
    const auto* da = reinterpret_cast<const float*>(ap + 512) + kHalf * NT;
    const auto* corr = reinterpret_cast<const int32_t*>(ap + 576) + kHalf * NT;
    __m512i s0[NT], s1[NT];
#pragma GCC unroll 8
    for (int i = 0; i < NT; ++i) s0[i] = s1[i] = _mm512_set1_epi32(corr[i]);  // −C·Σa
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      const __m512i w0 = LoadChunk(wq0 + 64 * c), w1 = LoadChunk(wq1 + 64 * c);
#pragma GCC unroll 8
      for (int i = 0; i < NT; ++i) {
        const __m512i a = _mm512_set1_epi32(aq[i * 8 + c]);
        s0[i] = _mm512_dpbusd_epi32(s0[i], w0, a);
        s1[i] = _mm512_dpbusd_epi32(s1[i], w1, a);
      }
    }
    const __m512 dw0 = _mm512_cvtph_ps(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(wp0 + ScaleOff(b, false))));
    const __m512 dw1 = _mm512_cvtph_ps(
        _mm256_load_si256(reinterpret_cast<const __m256i*>(wp1 + ScaleOff(b, false))));
#pragma GCC unroll 8
    for (int i = 0; i < NT; ++i) {
      const __m512 dai = _mm512_set1_ps(da[i]);
      _mm512_store_ps(accm[0][i],
                      _mm512_fmadd_ps(_mm512_cvtepi32_ps(s0[i]), _mm512_mul_ps(dw0, dai),
                                      _mm512_load_ps(accm[0][i])));
      _mm512_store_ps(accm[1][i],
                      _mm512_fmadd_ps(_mm512_cvtepi32_ps(s1[i]), _mm512_mul_ps(dw1, dai),
                                      _mm512_load_ps(accm[1][i])));
    }
  }
  StoreTileSums<NT>(accm[0], y, ldy, ntok);
  StoreTileSums<NT>(accm[1], y + 16, ldy, ntok);
}

// Q8_0's tile microkernel; Q4_0 runs it on its unpacked nibbles.
constexpr TileMicroFn kMicroQ8 = MicroByTile<MicroQ8<8>, MicroQ8<16>>;

// Loop nest: K-chunk > 16 row groups > token tile > row group. A token tile's panel slice stays
// in L1 across the 16 groups, their weights in L2 across token tiles; the f32 partial sums go
// through y between K-chunks, which keeps the float order.
template <bool kQ4>
void GemmVnni(const uint8_t* w, int64_t n_rows, int64_t n_cols, const uint8_t* panel,
              int64_t n_tokens, float* y, int64_t g0, int64_t g1) {
  constexpr uint64_t kBuf = kMaxChunk / 2 * PairBytes(false);  // one group's unpacked chunk
  uint8_t* q4buf = kQ4 ? PackedScratch(kGroupBlock * kBuf) : nullptr;
  static_assert(kChunk % 2 == 0, "a K-chunk starts on a block pair");
  const int nb = static_cast<int>(n_cols / 32);
  const int ntt = static_cast<int>((n_tokens + kTileTok - 1) / kTileTok);
  const uint64_t gstride = GroupBytes(n_cols, kQ4);
  for (int kb = 0; kb < nb; kb += kChunk) {
    const int nblk = MinI(kChunk, nb - kb);
    for (auto gb = static_cast<int>(g0); gb < g1; gb += kGroupBlock) {
      const int ge = MinI(static_cast<int>(g1), gb + kGroupBlock);
      // The group's quants for this K-chunk: in place (Q8_0) or unpacked once (Q4_0).
      auto packed = [&](int g) {
        return w + static_cast<uint64_t>(g) * gstride + QuantOff(kb, kQ4);
      };
      auto unpacked = [&](int g) { return q4buf + static_cast<uint64_t>(g - gb) * kBuf; };
      auto chunk = [&](int g) -> const uint8_t* { return kQ4 ? unpacked(g) : packed(g); };
      if constexpr (kQ4)
        for (int g = gb; g < ge; ++g) UnpackQ4Group(packed(g), nblk, unpacked(g));
      for (int tt = 0; tt < ntt; ++tt) {
        const uint8_t* ap = panel + static_cast<uint64_t>(tt * nb + kb) * kPanelBlock;
        float* yt = y + static_cast<int64_t>(tt) * kTileTok * n_rows;
        const int ntok = MinI(kTileTok, static_cast<int>(n_tokens - tt * kTileTok));
        int g = gb;
        for (; g + 2 <= ge; g += 2) {
          MicroQ8Pair<0>(chunk(g), chunk(g + 1), ap, nblk, yt + g * 16, n_rows, MinI(8, ntok),
                         kb == 0);
          if (ntok > 8)
            MicroQ8Pair<1>(chunk(g), chunk(g + 1), ap, nblk, yt + 8 * n_rows + g * 16, n_rows,
                           ntok - 8, kb == 0);
        }
        if (g < ge) kMicroQ8(chunk(g), ap, nblk, yt + g * 16, n_rows, ntok, kb == 0);
      }
    }
  }
}

// Decode, one row group at a time: its one linear stream of block pairs, prefetched ahead
// (GemvVnni) and on into the next group of the range, half a pair's lines before each block (one
// burst per pair read 0.90× (Q8_0) / 0.93× (Q4_0) as fast from DRAM on one core). Four groups at a
// time (four streams in flight, each broadcast serving four) decoded 0.66–0.96× as fast on Zen 5
// (docs/BENCHMARKS.md, "One stream per row group: Q8_0 and Q4_0"). Per block two independent
// vpdpbusd chains, the correction at the end; successive blocks overlap out of order, so the one
// f32 chain per group is the only dependence across blocks.
template <bool kQ4, uint64_t kDist>
void GemvVnniD(const uint8_t* w, int64_t /*n_rows*/, int64_t n_cols, const void* x, float* y,
               int64_t g0, int64_t g1) {
  constexpr uint64_t PB = PairBytes(kQ4);
  constexpr int C = kQ4 ? 8 : 128;
  const auto* a = static_cast<const BlockQ8A*>(x);
  const int64_t nb = n_cols / 32, np = (nb + 1) / 2;
  const uint64_t gstride = GroupBytes(n_cols, kQ4);
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* wg = w + static_cast<uint64_t>(g) * gstride;
    const uint8_t* next = g + 1 < g1 ? wg + gstride : nullptr;
    __m512 acc = _mm512_setzero_ps();
    for (int64_t p = 0; p < np; ++p) {
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        const int64_t b = 2 * p + h;
        if (b >= nb) break;
        PfGroupStreamPart<PB, kDist, 2>(wg, next, np, p, h);  // half the pair's lines per block
        const uint8_t* q = wg + QuantOff(b, kQ4);
        const auto* aq = reinterpret_cast<const int32_t*>(a[b].qs);
        __m512i s0 = _mm512_setzero_si512(), s1 = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int v = 0; v < 4; ++v) {
          __m512i w0, w1;
          if constexpr (kQ4) {
            UnpackNibbles(_mm512_load_si512(q + 64 * v), &w0, &w1);
          } else {
            w0 = _mm512_load_si512(q + 64 * v);
            w1 = _mm512_load_si512(q + 256 + 64 * v);
          }
          s0 = DpbusdBcast(s0, w0, aq + v);
          s1 = DpbusdBcast(s1, w1, aq + v + 4);
        }
        const __m512i isum =
            _mm512_sub_epi32(_mm512_add_epi32(s0, s1), _mm512_set1_epi32(C * a[b].sum));
        const __m512 dw = _mm512_cvtph_ps(
            _mm256_load_si256(reinterpret_cast<const __m256i*>(wg + ScaleOff(b, kQ4))));
        acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), _mm512_mul_ps(dw, _mm512_set1_ps(a[b].d)),
                              acc);
      }
    }
    _mm512_storeu_ps(y + g * 16, acc);
  }
}
template <bool kQ4>
void GemvVnni(const uint8_t* w, int64_t n_rows, int64_t n_cols, const void* x, float* y, int64_t g0,
              int64_t g1) {
  // Prefetch distance, measured with both cores streaming: for Q4_0 8 KiB read 1.04–1.13×
  // faster than 4 KiB, and 6 KiB (10 pairs, the K-quant steps' distance) since the spread
  // prefetch 1.02–1.03× faster than 8 KiB on the layer walk, one-thread decode 1.04× (median of
  // 4); for Q8_0 (4 KiB = 4 pairs) 8 KiB gains nothing, 2 KiB loses (docs/BENCHMARKS.md, "Q6_K
  // decode prefetch in eighths; bench-engine rounds; where decode loses time").
  GemvVnniD<kQ4, kQ4 ? 6144 : 4096>(w, n_rows, n_cols, x, y, g0, g1);
}

// ---- AMX -----------------------------------------------------------------------------------

// tmm0..3: C[i][j] (token tile i, group j); tmm4/5: A of token tiles 0/1; tmm6/7: B of groups.
struct alignas(64) TileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {64, 64, 64, 64, 32, 32, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 8, 8};
};
constexpr int kAccLd = 32;  // f32 accumulators: [32 tokens][32 rows]

// Scales token tile i's stored C tiles (NG groups) into the f32 accumulators.
template <int NG>
inline void Epilogue(const int32_t* const cb[2], const uint8_t* ap, const __m512 dw[2],
                     float* acc) {
  const auto* da = reinterpret_cast<const float*>(ap + 512);
#pragma GCC unroll 16
  for (int t = 0; t < 16; ++t) {
    const __m512 d = _mm512_set1_ps(da[t]);
#pragma GCC unroll 2
    for (int j = 0; j < NG; ++j) {
      const __m512 s = _mm512_mul_ps(dw[j], d);
      float* f = acc + t * kAccLd + j * 16;
      _mm512_store_ps(f, _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(cb[j] + 16 * t)), s,
                                         _mm512_load_ps(f)));
    }
  }
}

inline __m512 LoadScales(const uint16_t* wd) {
  return _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(wd)));
}

// NT token tiles (1–2) × NG groups (1–2) over nblk blocks; wq[j] is a signed copy (512 B/block).
template <int NT, int NG>
void MicroAmx(const uint8_t* const wq[2], const uint16_t* const wd[2], const uint8_t* const ap[2],
              int nblk, float* y, int64_t ldy, int ntok0, int ntok1, bool first) {
  // C tiles alternate between two small, hot buffers: tile stores that miss L1 are very slow,
  // and block b + 1's stores must not overwrite what block b's epilogue reads.
  alignas(64) int32_t cbufs[2][4][256];
  alignas(64) float acc[2 * 16 * kAccLd];
  const int ntok[2] = {ntok0, ntok1};
  for (int i = 0; i < NT; ++i)
    for (int t = 0; t < 16; ++t)
      for (int j = 0; j < NG; ++j) {
        float* f = acc + (i * 16 + t) * kAccLd + j * 16;
        const bool load = !first && t < ntok[i];
        _mm512_store_ps(
            f, load ? _mm512_loadu_ps(y + (i * 16 + t) * ldy + j * 16) : _mm512_setzero_ps());
      }
  for (int b = 0; b < nblk; ++b) {
    const uint64_t ao = static_cast<uint64_t>(b) * kPanelBlock;
    const uint64_t wo = static_cast<uint64_t>(b) * kQ8Quant;
    int32_t(*cbuf)[256] = cbufs[b & 1];
    _tile_zero(0);
    if constexpr (NG > 1) _tile_zero(1);
    if constexpr (NT > 1) _tile_zero(2);
    if constexpr (NT > 1 && NG > 1) _tile_zero(3);
    _tile_loadd(4, ap[0] + ao, 32);
    if constexpr (NT > 1) _tile_loadd(5, ap[1] + ao, 32);
    _tile_loadd(6, wq[0] + wo, 64);
    if constexpr (NG > 1) _tile_loadd(7, wq[1] + wo, 64);
    _tile_dpbssd(0, 4, 6);
    if constexpr (NG > 1) _tile_dpbssd(1, 4, 7);
    if constexpr (NT > 1) _tile_dpbssd(2, 5, 6);
    if constexpr (NT > 1 && NG > 1) _tile_dpbssd(3, 5, 7);
    _tile_stored(0, cbuf[0], 64);
    if constexpr (NG > 1) _tile_stored(1, cbuf[1], 64);
    if constexpr (NT > 1) _tile_stored(2, cbuf[2], 64);
    if constexpr (NT > 1 && NG > 1) _tile_stored(3, cbuf[3], 64);
    __m512 dw[2];
    for (int j = 0; j < NG; ++j) dw[j] = LoadScales(wd[j] + b * 16);
    for (int i = 0; i < NT; ++i) {
      const int32_t* cb[2] = {cbuf[i * 2], cbuf[i * 2 + 1]};
      Epilogue<NG>(cb, ap[i] + ao, dw, acc + i * 16 * kAccLd);
    }
  }
  for (int i = 0; i < NT; ++i)
    for (int t = 0; t < ntok[i]; ++t)
      for (int j = 0; j < NG; ++j)
        _mm512_storeu_ps(y + (i * 16 + t) * ldy + j * 16,
                         _mm512_load_ps(acc + (i * 16 + t) * kAccLd + j * 16));
}

// A signed copy of one group's K-chunk for tdpbssd (so no activation-sum correction), from an
// even block (wp: its pairs): the quants of block b at 512·b (Q8_0: u8 ^ 0x80 is the stored
// weight; Q4_0: nibble − 8), then the chunk's scales, block b's at kMaxChunk·512 + 32·b.
template <bool kQ4>
void SignedCopy(const uint8_t* wp, int nblk, uint8_t* out) {
  const __m512i m0f = _mm512_set1_epi8(0x0F), k8 = _mm512_set1_epi8(8);
  const __m512i k80 = _mm512_set1_epi8(static_cast<char>(0x80));
  uint8_t* scales = out + kMaxChunk * kQ8Quant;
  for (int b = 0; b < nblk; ++b, out += kQ8Quant) {
    const uint8_t* wq = wp + QuantOff(b, kQ4);
    _mm256_store_si256(reinterpret_cast<__m256i*>(scales + 32 * b),
                       _mm256_load_si256(reinterpret_cast<const __m256i*>(wp + ScaleOff(b, kQ4))));
    if constexpr (kQ4) {
      for (int v = 0; v < 4; ++v) {
        const __m512i x = _mm512_load_si512(wq + 64 * v);
        _mm512_store_si512(out + 64 * v, _mm512_sub_epi8(_mm512_and_si512(x, m0f), k8));
        _mm512_store_si512(out + 256 + 64 * v,
                           _mm512_sub_epi8(_mm512_and_si512(_mm512_srli_epi16(x, 4), m0f), k8));
      }
    } else {
      for (int c = 0; c < 8; ++c)
        _mm512_store_si512(out + 64 * c, _mm512_xor_si512(_mm512_load_si512(wq + 64 * c), k80));
    }
  }
}

template <bool kQ4>
void GemmAmx(const uint8_t* w, int64_t n_rows, int64_t n_cols, const uint8_t* panel,
             int64_t n_tokens, float* y, int64_t g0, int64_t g1) {
  constexpr uint64_t kBuf = kMaxChunk * (kQ8Quant + kScaleBytes);  // one group's signed chunk
  uint8_t* bbuf = PackedScratch(kGroupBlock * kBuf);
  const TileConfig cfg;
  _tile_loadconfig(&cfg);
  static_assert(kChunk % 2 == 0, "a K-chunk starts on a block pair");
  const int nb = static_cast<int>(n_cols / 32);
  const int ntt = static_cast<int>((n_tokens + kTileTok - 1) / kTileTok);
  const uint64_t gstride = GroupBytes(n_cols, kQ4);
  for (int kb = 0; kb < nb; kb += kChunk) {
    const int nblk = MinI(kChunk, nb - kb);
    for (auto gb = static_cast<int>(g0); gb < g1; gb += kGroupBlock) {
      const int ge = MinI(static_cast<int>(g1), gb + kGroupBlock);
      for (int tt = 0; tt < ntt; tt += 2) {
        const int nt = MinI(2, ntt - tt);
        const uint8_t* ap[2] = {
            panel + static_cast<uint64_t>(tt * nb + kb) * kPanelBlock,
            panel + static_cast<uint64_t>((tt + nt - 1) * nb + kb) * kPanelBlock};
        const int n0 = MinI(kTileTok, static_cast<int>(n_tokens - tt * kTileTok));
        const int n1 =
            nt > 1 ? MinI(kTileTok, static_cast<int>(n_tokens - (tt + 1) * kTileTok)) : 0;
        for (int g = gb; g < ge; g += 2) {
          const int ng = MinI(2, ge - g);
          const uint8_t* wq[2] = {nullptr, nullptr};
          const uint16_t* wd[2] = {nullptr, nullptr};
          for (int j = 0; j < ng; ++j) {
            const uint8_t* wg = w + static_cast<uint64_t>(g + j) * gstride;
            uint8_t* buf = bbuf + static_cast<uint64_t>(g + j - gb) * kBuf;
            if (tt == 0) SignedCopy<kQ4>(wg + QuantOff(kb, kQ4), nblk, buf);
            wq[j] = buf;
            wd[j] = reinterpret_cast<const uint16_t*>(buf + kMaxChunk * kQ8Quant);
          }
          float* yt = y + static_cast<int64_t>(tt) * kTileTok * n_rows + g * 16;
          if (nt == 2 && ng == 2) {
            MicroAmx<2, 2>(wq, wd, ap, nblk, yt, n_rows, n0, n1, kb == 0);
          } else if (nt == 2) {
            MicroAmx<2, 1>(wq, wd, ap, nblk, yt, n_rows, n0, n1, kb == 0);
          } else if (ng == 2) {
            MicroAmx<1, 2>(wq, wd, ap, nblk, yt, n_rows, n0, n1, kb == 0);
          } else {
            MicroAmx<1, 1>(wq, wd, ap, nblk, yt, n_rows, n0, n1, kb == 0);
          }
        }
      }
    }
  }
  _tile_release();
}

bool DetectAmx() {
  const char* env = std::getenv("SEEKD_AMX");
  if (env != nullptr && env[0] == '0') return false;
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  const bool tile = (d >> 24) & 1, int8 = (d >> 25) & 1;
  if (!tile || !int8) return false;
  // Linux hands out the tile-data state per process on request (ARCH_REQ_XCOMP_PERM).
  constexpr long kArchReqXcompPerm = 0x1023, kXfeatureXtiledata = 18;
  return syscall(SYS_arch_prctl, kArchReqXcompPerm, kXfeatureXtiledata) == 0;
}

}  // namespace

namespace seekd::kernels {

uint8_t* PackedScratch(uint64_t bytes) {
  struct Buf {
    uint8_t* p = nullptr;
    uint64_t n = 0;
    ~Buf() { std::free(p); }
  };
  thread_local Buf buf;
  if (bytes > buf.n) {
    std::free(buf.p);
    buf.n = (bytes + 63) / 64 * 64;
    buf.p = static_cast<uint8_t*>(std::aligned_alloc(64, buf.n));
  }
  return buf.p;
}

bool AmxUsable() {
  static const bool usable = DetectAmx();
  return usable;
}

PackedGemm PackedGemmFor(DType t, bool amx) {
  PackedGemm p;
  if (amx && !AmxUsable()) return p;
  p.panel_bytes = PanelBytes;
  if (t == DType::kQ8_0) {
    p.layout = kQ80Layout;  // AMX and VNNI kernels share it
    p.bytes = BytesQ8_0;
    p.pack = PackQ8_0;
    p.gemv = GemvVnni<false>;
    p.pack_panel = PackPanel<128>;
    p.gemm = amx ? GemmAmx<false> : GemmVnni<false>;
  } else if (t == DType::kF16) {
    return amx ? PackedGemm{} : PackedF16Gemm();
  } else if (t == DType::kBF16) {
    return amx ? PackedGemm{} : PackedBF16Gemm(Bf16DotChosen());
  } else if (t == DType::kQ4_K) {
    return PackedQ4KGemm(amx);  // packed_q4k_avx512.cc
  } else if (t == DType::kQ6_K) {
    return amx ? PackedGemm{} : PackedQ6KGemm();  // packed_q6k_avx512.cc
  } else if (t == DType::kQ4_0) {
    p.layout = kQ40Layout;
    p.bytes = BytesQ4_0;
    p.pack = PackQ4_0;
    p.gemv = GemvVnni<true>;
    p.pack_panel = PackPanel<8>;
    p.gemm = amx ? GemmAmx<true> : GemmVnni<true>;
  } else {
    return PackedGemm{};
  }
  return p;
}

uint64_t SpinAmx(int64_t iters) {
  if (!AmxUsable()) return 0;
  struct alignas(64) {
    uint8_t palette = 1, start_row = 0, reserved[14] = {};
    uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
    uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
  } cfg;
  alignas(64) static const int8_t ones[16 * 64] = {1};
  _tile_loadconfig(&cfg);
  _tile_loadd(4, ones, 64);
  _tile_loadd(5, ones, 64);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  for (int64_t i = 0; i < iters; ++i) {
    _tile_dpbssd(0, 4, 5);
    _tile_dpbssd(1, 4, 5);
    _tile_dpbssd(2, 4, 5);
    _tile_dpbssd(3, 4, 5);
  }
  alignas(64) int32_t out[256];
  _tile_stored(0, out, 64);
  _tile_release();
  volatile int32_t sink = out[0];
  (void)sink;
  return static_cast<uint64_t>(iters) * 4 * 16 * 16 * 64;
}

void AddPackedGemm(Kernels* k) {
  for (DType t :
       {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kF16, DType::kBF16}) {
    PackedGemm p = PackedGemmFor(t, AmxUsable());
    if (p.gemm == nullptr) p = PackedGemmFor(t, false);  // no AMX variant for this type
    k->packed[static_cast<int>(t)] = p;
  }
}

}  // namespace seekd::kernels
