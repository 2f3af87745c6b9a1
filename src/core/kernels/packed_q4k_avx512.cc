// The packed int8 GEMM for Q4_K on AVX-512 VNNI, and its prefill on AMX: the packed layout, its
// float order and its kernels (Q6_K is in packed_q6k_avx512.cc, the loop nests both use in
// packed_kquant.inc, the Q8_0/Q4_0 layouts in packed.h with their kernels in packed_avx512.cc).
// Intrinsics and plain C in an anonymous namespace, as in the other wide files.
//
// Decode (gemv) unpacks a superblock's quants in registers and keeps one vpdpbusd chain per
// sub-block; prefill (gemm) unpacks a K-chunk of 16 row groups once into u8 chunk bytes in L2
// and runs 16-row × 16-token microkernels over it (on AMX: tiles of pre-scaled weights, below).
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/kernels/packed.h"
#include "core/quant.h"

namespace {

#include "core/kernels/packed_common.inc"  // NOLINT(bugprone-suspicious-include)
#include "core/kernels/packed_kquant.inc"  // NOLINT(bugprone-suspicious-include)

// ---- Q4_K ----------------------------------------------------------------------------------
// Unpacked superblock (VNNI GEMM scratch): 8 sub-blocks × 512 u8 chunk bytes, then sc_j int32
// [8][16], fp32(d)[16], −fp32(dmin)[16] and the mins as int16 pairs [4][16][2].
constexpr uint64_t kQ4KUnpacked = 4096 + 512 + 128 + 128 * 2;
// Panel block (tile, superblock): 16 tokens × 256 quants, their f32 d, and per token the four
// dwords (bsum_{2q}, bsum_{2q+1}) as int16 pairs.
constexpr uint64_t kQ4KPanel = 4096 + 64 + 256;
constexpr int kQ4KChunk = 6;  // superblocks per K-chunk (1536 columns)

uint64_t PanelBytesQ4K(int64_t n_tokens, int64_t n_cols) {
  return static_cast<uint64_t>((n_tokens + kTileTok - 1) / kTileTok) *
         static_cast<uint64_t>(n_cols / 256) * kQ4KPanel;
}

// Σ_j m_j · bsum_j for the 16 rows: the mins' int16 pairs m[0..3] against one token's four
// bsum pairs b[0..3] (exact in int32).
inline __m512i MinTerm(const __m512i m[4], const int32_t* b) {
  __m512i ms = BcastLoad(&kZero);
#pragma GCC unroll 4
  for (int q = 0; q < 4; ++q) ms = DpwssdBcast(ms, m[q], b + q);
  return ms;
}

// Sub-block sums of a BlockQ8K as the int16 pairs the min term multiplies: pair q is
// (bsum_{2q}, bsum_{2q+1}), each the sum of two 16-element sums (|bsum| ≤ 32·127, no wrap).
// One vphaddw of the two halves of bsums[16] gives all four, in place of ~40 scalar ops.
inline void BsumPairs(const BlockQ8K& a, int32_t* out) {
  const auto* b = reinterpret_cast<const __m128i*>(a.bsums);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(out),
                   _mm_hadd_epi16(_mm_loadu_si128(b), _mm_loadu_si128(b + 1)));
}

void PackPanelQ4K(const void* src, int64_t n_tokens, int64_t n_cols, int64_t t0, int64_t t1,
                  uint8_t* panel) {
  const auto* x = static_cast<const BlockQ8K*>(src);
  const int64_t nsb = n_cols / 256;
  for (int64_t tt = t0; tt < t1; ++tt)
    for (int64_t sb = 0; sb < nsb; ++sb) {
      uint8_t* p = panel + static_cast<uint64_t>(tt * nsb + sb) * kQ4KPanel;
      auto* da = reinterpret_cast<float*>(p + 4096);
      auto* bs = reinterpret_cast<int32_t*>(p + 4160);
      for (int t = 0; t < kTileTok; ++t) {
        const int64_t tok = tt * kTileTok + t;
        if (tok < n_tokens) {
          const BlockQ8K& blk = x[tok * nsb + sb];
          std::memcpy(p + t * 256, blk.qs, 256);
          da[t] = blk.d;
          BsumPairs(blk, bs + t * 4);
        } else {
          std::memset(p + t * 256, 0, 256);
          da[t] = 0.0f;
          for (int q = 0; q < 4; ++q) bs[t * 4 + q] = 0;
        }
      }
    }
}

// sc_j of the 16 rows as int32, from a superblock's meta.
inline __m512i ScaleOf(const uint8_t* meta, int j) {
  return _mm512_cvtepu8_epi32(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(meta + 64 + j * 16)));
}
inline __m512i MinPairs(const uint8_t* meta, int q) {
  return _mm512_cvtepu8_epi16(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(meta + 192 + q * 32)));
}

// One group's superblocks [sb0, sb0 + n) unpacked for the GEMM (once per group and K-chunk).
void UnpackQ4KGroup(const uint8_t* wg, int64_t nsb, int sb0, int n, uint8_t* out) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (int s = 0; s < n; ++s, out += kQ4KUnpacked) {
    const uint8_t* wq = wg + static_cast<uint64_t>(sb0 + s) * kQ4KSb;
    const uint8_t* meta = wq + kQ4KQuant;
    for (int p = 0; p < 4; ++p)
      for (int v = 0; v < 8; ++v) {
        __m512i lo, hi;
        UnpackNibbles(_mm512_load_si512(wq + p * 512 + v * 64), &lo, &hi);
        _mm512_store_si512(out + (2 * p) * 512 + v * 64, lo);
        _mm512_store_si512(out + (2 * p + 1) * 512 + v * 64, hi);
      }
    for (int j = 0; j < 8; ++j) _mm512_store_si512(out + 4096 + 64 * j, ScaleOf(meta, j));
    _mm512_store_ps(reinterpret_cast<float*>(out + 4608), HalfToFloat(meta));
    _mm512_store_ps(reinterpret_cast<float*>(out + 4672),
                    _mm512_xor_ps(HalfToFloat(meta + 32), sign));
    for (int q = 0; q < 4; ++q) _mm512_store_si512(out + 4736 + q * 64, MinPairs(meta, q));
  }
}

// One group × the first NT (8 or 16) tokens of a tile over n unpacked superblocks; the f32 sums
// in L1 beside the integer ones (ScaledSums).
template <int NT>
void MicroQ4KTile(const uint8_t* ub, const uint8_t* ap, int n, float* y, int64_t ldy, int ntok,
                  bool first) {
  alignas(64) float accm[NT][16];
  alignas(64) int32_t isc[NT][16];
  LoadTileSums<NT>(accm, y, ldy, ntok, first);
  for (int s = 0; s < n; ++s, ub += kQ4KUnpacked, ap += kQ4KPanel) {
    const auto* da = reinterpret_cast<const float*>(ap + 4096);
    const auto* bs = reinterpret_cast<const int32_t*>(ap + 4160);
    ScaledSums<8, NT>(ub, reinterpret_cast<const int32_t*>(ap), isc);
    const __m512 d = _mm512_load_ps(reinterpret_cast<const float*>(ub + 4608));
    const __m512 ndmin = _mm512_load_ps(reinterpret_cast<const float*>(ub + 4672));
    const __m512i mp[4] = {_mm512_load_si512(ub + 4736), _mm512_load_si512(ub + 4800),
                           _mm512_load_si512(ub + 4864), _mm512_load_si512(ub + 4928)};
#pragma GCC unroll 16
    for (int i = 0; i < NT; ++i) {
      const __m512 dav = _mm512_set1_ps(da[i]);
      __m512 acc = _mm512_load_ps(accm[i]);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_load_si512(isc[i])), _mm512_mul_ps(d, dav),
                            acc);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(MinTerm(mp, bs + i * 4)), _mm512_mul_ps(ndmin, dav),
                            acc);
      _mm512_store_ps(accm[i], acc);
    }
  }
  StoreTileSums<NT>(accm, y, ldy, ntok);
}

// Decode batches prefetch Q4_K's one stream 12 KiB ahead, a quarter of a superblock's lines
// before each sub-block pair (PfGroupStreamPart). With both cores streaming, 12 KiB in one burst
// read 1.10–1.19× the 8 KiB of the two-region layout (docs/BENCHMARKS.md, "One stream per row
// group"), but while a batch computes on a superblock the burst's lines were all in flight and
// the next ones not yet asked for: walking the model's layer shapes, the spread read 1.22–1.45×
// the burst's bytes per second at 4 tokens and 1.17–1.29× at 10, and bench-engine's steady
// decode gained 1.13× at 4 streams and 1.08× at 10 (docs/BENCHMARKS.md, "F16 and BF16 prefill: two
// row groups per microkernel; Q4_K decode batches prefetch spread").
constexpr uint64_t kQ4KDecodePf = 12288;
// Decode, one superblock of one group: eight independent chains (one per sub-block) folded
// into acc in the group's float order. Its prefetch runs kDecodeSpreadPf ahead in the group's one
// stream, a quarter per sub-block pair.
inline __m512 GemvQ4KStep(const uint8_t* wg, const uint8_t* next, int64_t nsb, int64_t sb,
                          const BlockQ8K& a, __m512 acc) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  const uint8_t* wq = wg + sb * kQ4KSb;
  const uint8_t* meta = wq + kQ4KQuant;
  const auto* aq = reinterpret_cast<const int32_t*>(a.qs);
  __m512i isum[8];
#pragma GCC unroll 8
  for (int j = 0; j < 8; ++j) isum[j] = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int p = 0; p < 4; ++p) {
    PfGroupStreamPart<kQ4KSb, kDecodeSpreadPf, 4>(wg, next, nsb, sb, p);
#pragma GCC unroll 8
    for (int v = 0; v < 8; ++v) {
      __m512i lo, hi16;
      MaskNibbles(wq + p * 512 + v * 64, &lo, &hi16);
      isum[2 * p] = DpbusdBcast(isum[2 * p], lo, aq + (2 * p) * 8 + v);
      isum[2 * p + 1] = DpbusdBcast(isum[2 * p + 1], hi16, aq + (2 * p + 1) * 8 + v);
    }
  }
  // The odd sub-blocks' sums are 16× (high nibbles in place): the even scales take the same
  // factor and the total is shifted back, exactly (a multiple of 16, |16·Σ| < 2^29).
  __m512i isc = _mm512_mullo_epi32(isum[0], _mm512_slli_epi32(ScaleOf(meta, 0), 4));
#pragma GCC unroll 7
  for (int j = 1; j < 8; ++j) {
    const __m512i sc = j % 2 == 0 ? _mm512_slli_epi32(ScaleOf(meta, j), 4) : ScaleOf(meta, j);
    isc = _mm512_add_epi32(isc, _mm512_mullo_epi32(isum[j], sc));
  }
  isc = _mm512_srai_epi32(isc, 4);
  const __m512 dav = _mm512_set1_ps(a.d);
  acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isc), _mm512_mul_ps(HalfToFloat(meta), dav), acc);
  alignas(16) int32_t bs[4];
  BsumPairs(a, bs);
  const __m512i mp[4] = {MinPairs(meta, 0), MinPairs(meta, 1), MinPairs(meta, 2),
                         MinPairs(meta, 3)};
  const __m512i ms = MinTerm(mp, bs);
  const __m512 ndmin = _mm512_xor_ps(HalfToFloat(meta + 32), sign);
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(ms), _mm512_mul_ps(ndmin, dav), acc);
}
// Decode batches (2–16 tokens): gemv's order, per block of up to 10 tokens with the weights
// unpacked in registers once per sub-block pair; a group's weights come from DRAM once and stay
// in L2 for a second block. Two vpdpbusd chains per token (20 at 10 tokens: a 5-cycle latency
// at two per cycle wants at least 10) and the weights take the registers; the per-token integer
// and float sums live in L1 (iscm, accm), one load and store per sub-block pair. Ten tokens in
// one block unpack each weight vector once, not twice as two blocks of five did.
template <int NT>
void GemvQ4KTok(const uint8_t* wg, const uint8_t* next, bool pf, int64_t nsb,
                const BlockQ8K* const* a, const int32_t* pairs, float* y, int64_t ldy) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  alignas(64) float accm[NT][16];
  alignas(64) int32_t iscm[NT][16];
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* wq = wg + sb * kQ4KSb;
    const uint8_t* meta = wq + kQ4KQuant;
#pragma GCC unroll 1
    for (int p = 0; p < 4; ++p) {
      if (pf) PfGroupStreamPart<kQ4KSb, kQ4KDecodePf, 4>(wg, next, nsb, sb, p);
      __m512i s0[NT], s1[NT];
#pragma GCC unroll 16
      for (int t = 0; t < NT; ++t) s0[t] = s1[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) {
        __m512i lo, hi16;
        MaskNibblesOnce(wq + p * 512 + v * 64, &lo, &hi16);
#pragma GCC unroll 16
        for (int t = 0; t < NT; ++t) {
          const auto* aq = reinterpret_cast<const int32_t*>(a[t][sb].qs);
          s0[t] = DpbusdBcast(s0[t], lo, aq + (2 * p) * 8 + v);
          s1[t] = DpbusdBcast(s1[t], hi16, aq + (2 * p + 1) * 8 + v);
        }
      }
      const __m512i c0 = _mm512_slli_epi32(ScaleOf(meta, 2 * p), 4), c1 = ScaleOf(meta, 2 * p + 1);
#pragma GCC unroll 16
      for (int t = 0; t < NT; ++t) {
        __m512i v = _mm512_add_epi32(_mm512_mullo_epi32(s0[t], c0), _mm512_mullo_epi32(s1[t], c1));
        if (p > 0) v = _mm512_add_epi32(_mm512_load_si512(iscm[t]), v);
        _mm512_store_si512(iscm[t], v);
      }
    }
    const __m512 d = HalfToFloat(meta);
    const __m512 ndmin = _mm512_xor_ps(HalfToFloat(meta + 32), sign);
    const __m512i mp[4] = {MinPairs(meta, 0), MinPairs(meta, 1), MinPairs(meta, 2),
                           MinPairs(meta, 3)};
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) {
      const int32_t* bs = pairs + (t * nsb + sb) * 4;
      const __m512 dav = _mm512_set1_ps(a[t][sb].d);
      const __m512i isc = _mm512_srai_epi32(_mm512_load_si512(iscm[t]), 4);
      __m512 acc = sb == 0 ? _mm512_setzero_ps() : _mm512_load_ps(accm[t]);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isc), _mm512_mul_ps(d, dav), acc);
      const __m512i ms = MinTerm(mp, bs);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(ms), _mm512_mul_ps(ndmin, dav), acc);
      _mm512_store_ps(accm[t], acc);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * ldy, _mm512_load_ps(accm[t]));
}
constexpr TokFn kQ4KTok[10] = {GemvQ4KTok<1>, GemvQ4KTok<2>, GemvQ4KTok<3>, GemvQ4KTok<4>,
                               GemvQ4KTok<5>, GemvQ4KTok<6>, GemvQ4KTok<7>, GemvQ4KTok<8>,
                               GemvQ4KTok<9>, GemvQ4KTok<10>};

// ---- Q4_K on AMX ---------------------------------------------------------------------------
// tdpbsud (signed activation bytes × unsigned weight bytes) over whole superblocks: each scale
// splits as sc = 16·sh + sl (sl 0..15, sh 0..3), and the unpacked weights are stored twice,
// pre-multiplied, q·sl and q·sh (both fit a byte: ≤ 225). Then a superblock's
// Σ_j sc_j·isum_j = 16·C_hi + C_lo exactly, from four K = 64 steps into two C tiles per token
// tile, and the epilogue (the float order above) runs once per superblock, not per sub-block.
// Twice the tile work of the bare dot; the AMX peak is several times the vpdpbusd one.
//
// Unpacked superblock: B_lo [4 k-steps][16 rows of 64 B], B_hi the same, fp32(d)[16],
// −fp32(dmin)[16], the mins as int16 pairs [4][16][2]. A k-step's B tile (1 KB) is the u8
// chunk bytes of sub-blocks 2p and 2p + 1 (the VNNI layout: 4 k × 16 columns per 64-byte row).
constexpr uint64_t kQ4KAmxUnpacked = 8192 + 128 + 256;
constexpr int kQ4KAmxChunk = 6;  // superblocks per K-chunk: 16 groups × 6 × 8.4 KB in L2

// tmm0/1: C_lo/C_hi of token tile 0, tmm2/3 of token tile 1; tmm4/5: A of tiles 0/1;
// tmm6/7: B_lo/B_hi.
struct alignas(64) KTileConfig {
  uint8_t palette = 1, start_row = 0, reserved[14] = {};
  uint16_t colsb[16] = {64, 64, 64, 64, 64, 64, 64, 64};
  uint8_t rows[16] = {16, 16, 16, 16, 16, 16, 16, 16};
};

// sc_j split per row, each 16-bit lane holding the row's part (a byte-pair multiplier for
// vpmullw: a lane's two weight bytes are one row's, and neither product carries).
inline void SplitScale(const uint8_t* meta, int j, __m512i* lo, __m512i* hi) {
  const __m512i sc = ScaleOf(meta, j);
  const __m512i l = _mm512_and_si512(sc, _mm512_set1_epi32(15));
  const __m512i h = _mm512_srli_epi32(sc, 4);
  *lo = _mm512_or_si512(l, _mm512_slli_epi32(l, 16));
  *hi = _mm512_or_si512(h, _mm512_slli_epi32(h, 16));
}

void UnpackQ4KAmx(const uint8_t* wg, int64_t nsb, int sb0, int n, uint8_t* out) {
  const __m512 sign = _mm512_set1_ps(-0.0f);
  for (int s = 0; s < n; ++s, out += kQ4KAmxUnpacked) {
    const uint8_t* wq = wg + static_cast<uint64_t>(sb0 + s) * kQ4KSb;
    const uint8_t* meta = wq + kQ4KQuant;
    for (int p = 0; p < 4; ++p) {
      __m512i l0, h0, l1, h1;
      SplitScale(meta, 2 * p, &l0, &h0);
      SplitScale(meta, 2 * p + 1, &l1, &h1);
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) {
        __m512i lo, hi;
        UnpackNibbles(_mm512_load_si512(wq + p * 512 + v * 64), &lo, &hi);
        uint8_t* o = out + p * 1024 + v * 64;
        _mm512_store_si512(o, _mm512_mullo_epi16(lo, l0));
        _mm512_store_si512(o + 512, _mm512_mullo_epi16(hi, l1));
        _mm512_store_si512(o + 4096, _mm512_mullo_epi16(lo, h0));
        _mm512_store_si512(o + 4096 + 512, _mm512_mullo_epi16(hi, h1));
      }
    }
    _mm512_store_ps(reinterpret_cast<float*>(out + 8192), HalfToFloat(meta));
    _mm512_store_ps(reinterpret_cast<float*>(out + 8256),
                    _mm512_xor_ps(HalfToFloat(meta + 32), sign));
    for (int q = 0; q < 4; ++q) _mm512_store_si512(out + 8320 + q * 64, MinPairs(meta, q));
  }
}

// One token tile's stored C_lo/C_hi of one superblock folded into its accumulators.
inline void EpilogueQ4K(const int32_t* clo, const int32_t* chi, const uint8_t* ub,
                        const uint8_t* ap, int ntok, float* acc) {
  const auto* da = reinterpret_cast<const float*>(ap + 4096);
  const auto* bs = reinterpret_cast<const int32_t*>(ap + 4160);
  const __m512 d = _mm512_load_ps(reinterpret_cast<const float*>(ub + 8192));
  const __m512 ndmin = _mm512_load_ps(reinterpret_cast<const float*>(ub + 8256));
  const __m512i mp[4] = {_mm512_load_si512(ub + 8320), _mm512_load_si512(ub + 8384),
                         _mm512_load_si512(ub + 8448), _mm512_load_si512(ub + 8512)};
  for (int t = 0; t < ntok; ++t) {
    const __m512i isc = _mm512_add_epi32(_mm512_slli_epi32(_mm512_load_si512(chi + 16 * t), 4),
                                         _mm512_load_si512(clo + 16 * t));
    const __m512 dav = _mm512_set1_ps(da[t]);
    __m512 a = _mm512_load_ps(acc + 16 * t);
    a = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isc), _mm512_mul_ps(d, dav), a);
    _mm512_store_ps(acc + 16 * t, _mm512_fmadd_ps(_mm512_cvtepi32_ps(MinTerm(mp, bs + t * 4)),
                                                  _mm512_mul_ps(ndmin, dav), a));
  }
}

// NT token tiles (1–2) × ng row groups × n unpacked superblocks (group j's at ub + j · ustride),
// as one software pipeline over the (group, superblock) steps: step k's tile products are
// issued before step k − 1's epilogue, so the tile unit works while the vector units scale,
// and k's tiles are stored after that epilogue. One pipeline per token-tile pair, not per group,
// so it fills and drains once. y points at group 0's columns of the pair's first token.
template <int NT>
void MicroQ4KAmx(const uint8_t* ub, uint64_t ustride, int ng, const uint8_t* const ap[2], int n,
                 float* y, int64_t ldy, const int ntok[2], bool first) {
  // C tiles alternate between two small, hot buffers (tile stores that miss L1 are slow, and
  // step k + 1's stores must not overwrite what k's epilogue reads); so do the accumulators of
  // consecutive groups (group g's first step is issued before g − 1's last epilogue).
  alignas(64) int32_t cbufs[2][4][256];
  alignas(64) float acc[2][2][16 * 16];
  const int steps = ng * n;
  for (int k = 0; k <= steps; ++k) {
    if (k < steps) {
      const int g = k / n, s = k % n;
      if (s == 0)
        for (int i = 0; i < NT; ++i)
          for (int t = 0; t < 16; ++t)
            _mm512_store_ps(acc[g & 1][i] + 16 * t,
                            (!first && t < ntok[i])
                                ? _mm512_loadu_ps(y + (i * 16 + t) * ldy + g * 16)
                                : _mm512_setzero_ps());
      const uint64_t ao = static_cast<uint64_t>(s) * kQ4KPanel;
      const uint8_t* us = ub + g * ustride + static_cast<uint64_t>(s) * kQ4KAmxUnpacked;
      _tile_zero(0);
      _tile_zero(1);
      if constexpr (NT > 1) {
        _tile_zero(2);
        _tile_zero(3);
      }
#pragma GCC unroll 4
      for (int kk = 0; kk < 4; ++kk) {
        _tile_loadd(4, ap[0] + ao + 64 * kk, 256);
        if constexpr (NT > 1) _tile_loadd(5, ap[1] + ao + 64 * kk, 256);
        _tile_loadd(6, us + 1024 * kk, 64);
        _tile_loadd(7, us + 4096 + 1024 * kk, 64);
        _tile_dpbsud(0, 4, 6);
        _tile_dpbsud(1, 4, 7);
        if constexpr (NT > 1) {
          _tile_dpbsud(2, 5, 6);
          _tile_dpbsud(3, 5, 7);
        }
      }
    }
    if (k > 0) {
      const int g = (k - 1) / n, s = (k - 1) % n;
      const uint8_t* us = ub + g * ustride + static_cast<uint64_t>(s) * kQ4KAmxUnpacked;
      int32_t(*prev)[256] = cbufs[(k - 1) & 1];
      for (int i = 0; i < NT; ++i)
        EpilogueQ4K(prev[2 * i], prev[2 * i + 1], us, ap[i] + static_cast<uint64_t>(s) * kQ4KPanel,
                    ntok[i], acc[g & 1][i]);
      if (s == n - 1)
        for (int i = 0; i < NT; ++i)
          for (int t = 0; t < ntok[i]; ++t)
            _mm512_storeu_ps(y + (i * 16 + t) * ldy + g * 16,
                             _mm512_load_ps(acc[g & 1][i] + 16 * t));
    }
    if (k < steps) {
      int32_t(*cbuf)[256] = cbufs[k & 1];
      _tile_stored(0, cbuf[0], 64);
      _tile_stored(1, cbuf[1], 64);
      if constexpr (NT > 1) {
        _tile_stored(2, cbuf[2], 64);
        _tile_stored(3, cbuf[3], 64);
      }
    }
  }
}

// Loop nest: K-chunk > 16 row groups (unpacked once per chunk) > pairs of token tiles > group.
void GemmQ4KAmx(const uint8_t* w, int64_t n_rows, int64_t n_cols, const uint8_t* panel,
                int64_t n_tokens, float* y, int64_t g0, int64_t g1) {
  const int nsb = static_cast<int>(n_cols / 256);
  const int ntt = static_cast<int>((n_tokens + kTileTok - 1) / kTileTok);
  const uint64_t gstride = GroupBytesQ4K(n_cols);
  const uint64_t ustride = static_cast<uint64_t>(kQ4KAmxChunk) * kQ4KAmxUnpacked;
  uint8_t* ubuf = PackedScratch(kGroupBlock * ustride);
  const KTileConfig cfg;
  _tile_loadconfig(&cfg);
  for (int kb = 0; kb < nsb; kb += kQ4KAmxChunk) {
    const int n = MinI(kQ4KAmxChunk, nsb - kb);
    for (auto gb = static_cast<int>(g0); gb < g1; gb += kGroupBlock) {
      const int ge = MinI(static_cast<int>(g1), gb + kGroupBlock);
      for (int g = gb; g < ge; ++g)
        UnpackQ4KAmx(w + static_cast<uint64_t>(g) * gstride, nsb, kb, n,
                     ubuf + static_cast<uint64_t>(g - gb) * ustride);
      for (int tt = 0; tt < ntt; tt += 2) {
        const int nt = MinI(2, ntt - tt);
        const uint8_t* ap[2] = {
            panel + static_cast<uint64_t>(tt * nsb + kb) * kQ4KPanel,
            panel + static_cast<uint64_t>((tt + nt - 1) * nsb + kb) * kQ4KPanel};
        const int ntok[2] = {
            MinI(kTileTok, static_cast<int>(n_tokens - tt * kTileTok)),
            nt > 1 ? MinI(kTileTok, static_cast<int>(n_tokens - (tt + 1) * kTileTok)) : 0};
        float* yt = y + static_cast<int64_t>(tt) * kTileTok * n_rows + gb * 16;
        if (nt == 2) {
          MicroQ4KAmx<2>(ubuf, ustride, ge - gb, ap, n, yt, n_rows, ntok, kb == 0);
        } else {
          MicroQ4KAmx<1>(ubuf, ustride, ge - gb, ap, n, yt, n_rows, ntok, kb == 0);
        }
      }
    }
  }
  _tile_release();
}

}  // namespace

namespace seekd::kernels {

PackedGemm PackedQ4KGemm(bool amx) {
  PackedGemm p;
  p.act = ActFormat::kQ8K;
  p.layout = kQ4KLayout;
  p.bytes = BytesQ4_K;
  p.pack = PackQ4_K;
  p.gemv = GemvK<GemvQ4KStep, GroupBytesQ4K>;
  p.gemv_multi = GemvMultiK<kQ4KTok, 10, GroupBytesQ4K, BsumPairs, 4>;
  p.panel_bytes = PanelBytesQ4K;
  p.pack_panel = PackPanelQ4K;
  p.gemm = amx ? GemmQ4KAmx
               : GemmK<UnpackQ4KGroup, MicroByTile<MicroQ4KTile<8>, MicroQ4KTile<16>>,
                       GroupBytesQ4K, kQ4KUnpacked, kQ4KPanel, kQ4KChunk, kQ4KQuant, kQ4KMeta>;
  return p;
}

}  // namespace seekd::kernels
