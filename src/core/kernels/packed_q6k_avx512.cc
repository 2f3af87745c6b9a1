// The packed int8 GEMM for Q6_K on AVX-512 VNNI: the packed layout, its float order and its
// kernels (Q4_K is in packed_q4k_avx512.cc, the loop nests both use in packed_kquant.inc).
// Intrinsics and plain C in an anonymous namespace, as in the other wide files.
//
// Decode (gemv) assembles a superblock's 6-bit quants in registers and keeps one vpdpbusd chain
// per sub-block; prefill (gemm) unpacks a K-chunk of 16 row groups once into u8 chunk bytes in
// L2 and runs 16-row × 16-token microkernels over it.
#include <immintrin.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/kernels/packed.h"
#include "core/quant.h"

namespace {

#include "core/kernels/packed_common.inc"  // NOLINT(bugprone-suspicious-include)
#include "core/kernels/packed_kquant.inc"  // NOLINT(bugprone-suspicious-include)

// ---- Q6_K ----------------------------------------------------------------------------------
// Unpacked superblock (GEMM scratch): 16 sub-blocks × 256 u8 (0..63) chunk bytes, sc_j int32
// [16][16], fp32(d)[16], the scale pairs as int16 [8][16][2].
constexpr uint64_t kQ6KUnpacked = 4096 + 1024 + 64 + 512;
// Panel block (tile, superblock): 16 tokens × 256 quants, their f32 d, and per token the eight
// dwords (bsum_2q, bsum_2q+1) as int16 pairs.
constexpr uint64_t kQ6KPanel = 4096 + 64 + 512;
constexpr int kQ6KChunk = 6;  // superblocks per K-chunk (1536 columns)

uint64_t PanelBytesQ6K(int64_t n_tokens, int64_t n_cols) {
  return static_cast<uint64_t>((n_tokens + kTileTok - 1) / kTileTok) *
         static_cast<uint64_t>(n_cols / 256) * kQ6KPanel;
}

void PackPanelQ6K(const void* src, int64_t n_tokens, int64_t n_cols, int64_t t0, int64_t t1,
                  uint8_t* panel) {
  const auto* x = static_cast<const BlockQ8K*>(src);
  const int64_t nsb = n_cols / 256;
  for (int64_t tt = t0; tt < t1; ++tt)
    for (int64_t sb = 0; sb < nsb; ++sb) {
      uint8_t* p = panel + static_cast<uint64_t>(tt * nsb + sb) * kQ6KPanel;
      auto* da = reinterpret_cast<float*>(p + 4096);
      auto* bs = reinterpret_cast<int32_t*>(p + 4160);
      for (int t = 0; t < kTileTok; ++t) {
        const int64_t tok = tt * kTileTok + t;
        if (tok < n_tokens) {
          const BlockQ8K& blk = x[tok * nsb + sb];
          std::memcpy(p + t * 256, blk.qs, 256);
          da[t] = blk.d;
          std::memcpy(bs + t * 8, blk.bsums, 32);  // bsums[2q], bsums[2q + 1]: pair q, in place
        } else {
          std::memset(p + t * 256, 0, 256);
          da[t] = 0.0f;
          for (int q = 0; q < 8; ++q) bs[t * 8 + q] = 0;
        }
      }
    }
}

// Sub-block j's chunk c as u8 values 0..63 from the low-nibble vector of its pair and the
// high-bit vector of its quad (j is a constant wherever this is inlined).
inline __m512i Q6Chunk(__m512i nib, __m512i hb, int j) {
  const __m512i lo =
      _mm512_and_si512(j % 2 == 0 ? nib : _mm512_srli_epi16(nib, 4), _mm512_set1_epi8(0x0F));
  const int m = j % 4;  // hb's bits 2m, 2m + 1 → bits 4, 5 (16-bit shifts: the masks stop spill)
  const __m512i h = m == 0   ? _mm512_slli_epi16(hb, 4)
                    : m == 1 ? _mm512_slli_epi16(hb, 2)
                    : m == 2 ? hb
                             : _mm512_srli_epi16(hb, 2);
  return _mm512_or_si512(lo, _mm512_and_si512(h, _mm512_set1_epi8(0x30)));
}

// Row scales: the 16 rows' int16 pairs (sc_2q, sc_2q+1), and sc_j of each row as f32.
inline __m512i Q6Pairs(const uint8_t* meta, int q) {
  return _mm512_cvtepi8_epi16(
      _mm256_loadu_si256(reinterpret_cast<const __m256i*>(meta + 32 + q * 32)));
}
inline __m512i Q6Scale(__m512i pairs, int j) {
  return j % 2 == 0 ? _mm512_srai_epi32(_mm512_slli_epi32(pairs, 16), 16)
                    : _mm512_srai_epi32(pairs, 16);
}

// One group's superblocks [sb0, sb0 + n) unpacked for the GEMM (once per group and K-chunk).
void UnpackQ6KGroup(const uint8_t* wg, int64_t nsb, int sb0, int n, uint8_t* out) {
  for (int s = 0; s < n; ++s, out += kQ6KUnpacked) {
    const uint8_t* wq = wg + static_cast<uint64_t>(sb0 + s) * kQ6KSb;
    const uint8_t* meta = wq + kQ6KQuant;
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j)
      for (int c = 0; c < 4; ++c)
        _mm512_store_si512(out + j * 256 + c * 64,
                           Q6Chunk(_mm512_load_si512(wq + (j / 2) * 256 + c * 64),
                                   _mm512_load_si512(wq + 2048 + (j / 4) * 256 + c * 64), j));
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j)
      _mm512_store_si512(out + 4096 + 64 * j, Q6Scale(Q6Pairs(meta, j / 2), j));
    _mm512_store_ps(reinterpret_cast<float*>(out + 5120), HalfToFloat(meta));
    for (int q = 0; q < 8; ++q) _mm512_store_si512(out + 5184 + q * 64, Q6Pairs(meta, q));
  }
}

// One group × the first NT (8 or 16) tokens of a tile over n unpacked superblocks (as Q4_K's
// MicroQ4KTile).
template <int NT>
void MicroQ6KTile(const uint8_t* ub, const uint8_t* ap, int n, float* y, int64_t ldy, int ntok,
                  bool first) {
  alignas(64) float accm[NT][16];
  alignas(64) int32_t isc[NT][16];
  LoadTileSums<NT>(accm, y, ldy, ntok, first);
  for (int s = 0; s < n; ++s, ub += kQ6KUnpacked, ap += kQ6KPanel) {
    const auto* da = reinterpret_cast<const float*>(ap + 4096);
    const auto* bs = reinterpret_cast<const int32_t*>(ap + 4160);
    ScaledSums<16, NT>(ub, reinterpret_cast<const int32_t*>(ap), isc);
    // The offset: 32 · Σ_j sc_j · bsum_j per row, eight vpdpwssd over the pairs.
    const __m512 d = _mm512_load_ps(reinterpret_cast<const float*>(ub + 5120));
#pragma GCC unroll 16
    for (int i = 0; i < NT; ++i) {
      __m512i ms = BcastLoad(&kZero);
#pragma GCC unroll 8
      for (int q = 0; q < 8; ++q)
        ms = DpwssdBcast(ms, LoadChunk(ub + 5184 + 64 * q), bs + i * 8 + q);
      const __m512i tot = _mm512_sub_epi32(_mm512_load_si512(isc[i]), _mm512_slli_epi32(ms, 5));
      _mm512_store_ps(
          accm[i], _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot), _mm512_mul_ps(d, _mm512_set1_ps(da[i])),
                                   _mm512_load_ps(accm[i])));
    }
  }
  StoreTileSums<NT>(accm, y, ldy, ntok);
}

// Decode: per superblock, sixteen independent chains (one per sub-block), the same float order.
// Its prefetch runs kDecodeSpreadPf ahead in the group's one stream, an eighth (six or seven of
// a superblock's 53 lines) before every second chunk: one core read 1.03–1.09× the bytes per
// second of a quarter per u from DRAM, both cores on the layer walk 1.02–1.07× (Q4_K's step,
// with 37 lines a superblock, was level with eighths; docs/BENCHMARKS.md, "Q6_K decode
// prefetch in eighths; bench-engine rounds; where decode loses time").
inline __m512 GemvQ6KStep(const uint8_t* wg, const uint8_t* next, int64_t nsb, int64_t sb,
                          const BlockQ8K& a, __m512 acc) {
  const uint8_t* wq = wg + sb * kQ6KSb;
  const uint8_t* meta = wq + kQ6KQuant;
  const auto* aq = reinterpret_cast<const int32_t*>(a.qs);
  __m512i isum[16];
#pragma GCC unroll 16
  for (int j = 0; j < 16; ++j) isum[j] = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int u = 0; u < 4; ++u) {
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      if (c % 2 == 0)
        PfGroupStreamPart<kQ6KSb, kDecodeSpreadPf, 8>(wg, next, nsb, sb, 2 * u + c / 2);
      const __m512i hb = _mm512_load_si512(wq + 2048 + 256 * u + 64 * c);
      const __m512i n0 = _mm512_load_si512(wq + 256 * (2 * u) + 64 * c);
      const __m512i n1 = _mm512_load_si512(wq + 256 * (2 * u + 1) + 64 * c);
#pragma GCC unroll 4
      for (int m = 0; m < 4; ++m) {
        const int j = 4 * u + m;
        isum[j] = DpbusdBcast(isum[j], Q6Chunk(m < 2 ? n0 : n1, hb, j), aq + 4 * j + c);
      }
    }
  }
  __m512i pairs[8];
#pragma GCC unroll 8
  for (int q = 0; q < 8; ++q) pairs[q] = Q6Pairs(meta, q);
  __m512i isc = _mm512_mullo_epi32(isum[0], Q6Scale(pairs[0], 0));
#pragma GCC unroll 15
  for (int j = 1; j < 16; ++j)
    isc = _mm512_add_epi32(isc, _mm512_mullo_epi32(isum[j], Q6Scale(pairs[j / 2], j)));
  const auto* bp = reinterpret_cast<const int32_t*>(a.bsums);  // the int16 pairs, in place
  __m512i ms = BcastLoad(&kZero);
#pragma GCC unroll 8
  for (int q = 0; q < 8; ++q) ms = DpwssdBcast(ms, pairs[q], bp + q);
  const __m512i tot = _mm512_sub_epi32(isc, _mm512_slli_epi32(ms, 5));
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot),
                         _mm512_mul_ps(HalfToFloat(meta), _mm512_set1_ps(a.d)), acc);
}

// Decode batches: GemvQ6KStep's order, per sub-block pair (as Q4_K's GemvQ4KTok). The first
// token block prefetches 6 KiB ahead, an eighth of a superblock before each sub-block pair:
// a 10-token block computes ~450 cycles per superblock, and its 53 prefetches issued in one
// burst at the superblock's start left the kernel at 0.6× its L2 rate from DRAM. Spread out,
// both cores read 1.5× the bytes per second (4–8 KiB level, 12 KiB slower; docs/BENCHMARKS.md,
// "Q6_K decode batches: prefetch spread over the superblock").
constexpr uint64_t kQ6KDecodePf = 6144;
template <int NT>
void GemvQ6KTok(const uint8_t* wg, const uint8_t* next, bool pf, int64_t nsb,
                const BlockQ8K* const* a, const int32_t* /*pairs*/, float* y, int64_t ldy) {
  alignas(64) float accm[NT][16];
  alignas(64) int32_t iscm[NT][16];
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* wq = wg + sb * kQ6KSb;
    const uint8_t* meta = wq + kQ6KQuant;
#pragma GCC unroll 1
    for (int pp = 0; pp < 8; pp += 2)
#pragma GCC unroll 2
      for (int odd = 0; odd < 2; ++odd) {
        const int p = pp + odd;
        if (pf) PfGroupStreamPart<kQ6KSb, kQ6KDecodePf, 8>(wg, next, nsb, sb, p);
        __m512i s0[NT], s1[NT];
#pragma GCC unroll 16
        for (int t = 0; t < NT; ++t) s0[t] = s1[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
          __m512i nib = _mm512_load_si512(wq + 256 * p + 64 * c);
          __m512i hb = _mm512_load_si512(wq + 2048 + 256 * (p / 2) + 64 * c);
          // One load each (as MaskNibblesOnce in packed_common.inc) up to 6 tokens, where a load
          // costs about one of the 2·NT vpdpbusd per vector: 4 tokens 1.05–1.13× from DRAM. At 8
          // and 10 tokens it measured level (docs/BENCHMARKS.md, "Decode attention: one stream
          // per KV head").
          if constexpr (NT <= 6) asm("" : "+v"(nib), "+v"(hb));
          // Sub-blocks 2p and 2p + 1: quad slots 2·(p % 2) and 2·(p % 2) + 1.
          const __m512i v0 = Q6Chunk(nib, hb, 2 * odd), v1 = Q6Chunk(nib, hb, 2 * odd + 1);
#pragma GCC unroll 16
          for (int t = 0; t < NT; ++t) {
            const auto* aq = reinterpret_cast<const int32_t*>(a[t][sb].qs);
            s0[t] = DpbusdBcast(s0[t], v0, aq + 4 * (2 * p) + c);
            s1[t] = DpbusdBcast(s1[t], v1, aq + 4 * (2 * p + 1) + c);
          }
        }
        const __m512i pr = Q6Pairs(meta, p);
        const __m512i c0 = Q6Scale(pr, 0), c1 = Q6Scale(pr, 1);
#pragma GCC unroll 16
        for (int t = 0; t < NT; ++t) {
          __m512i v =
              _mm512_add_epi32(_mm512_mullo_epi32(s0[t], c0), _mm512_mullo_epi32(s1[t], c1));
          if (p > 0) v = _mm512_add_epi32(_mm512_load_si512(iscm[t]), v);
          _mm512_store_si512(iscm[t], v);
        }
      }
    const __m512 d = HalfToFloat(meta);
#pragma GCC unroll 16
    for (int t = 0; t < NT; ++t) {
      // bsums[2q], bsums[2q + 1] side by side are already the int16 pair of sub-blocks 2q, 2q+1.
      const auto* bp = reinterpret_cast<const int32_t*>(a[t][sb].bsums);
      __m512i ms = BcastLoad(&kZero);
#pragma GCC unroll 8
      for (int q = 0; q < 8; ++q) ms = DpwssdBcast(ms, Q6Pairs(meta, q), bp + q);
      const __m512i tot = _mm512_sub_epi32(_mm512_load_si512(iscm[t]), _mm512_slli_epi32(ms, 5));
      __m512 acc = sb == 0 ? _mm512_setzero_ps() : _mm512_load_ps(accm[t]);
      acc = _mm512_fmadd_ps(_mm512_cvtepi32_ps(tot), _mm512_mul_ps(d, _mm512_set1_ps(a[t][sb].d)),
                            acc);
      _mm512_store_ps(accm[t], acc);
    }
  }
#pragma GCC unroll 16
  for (int t = 0; t < NT; ++t) _mm512_storeu_ps(y + t * ldy, _mm512_load_ps(accm[t]));
}

constexpr TokFn kQ6KTok[10] = {GemvQ6KTok<1>, GemvQ6KTok<2>, GemvQ6KTok<3>, GemvQ6KTok<4>,
                               GemvQ6KTok<5>, GemvQ6KTok<6>, GemvQ6KTok<7>, GemvQ6KTok<8>,
                               GemvQ6KTok<9>, GemvQ6KTok<10>};

}  // namespace

namespace seekd::kernels {

PackedGemm PackedQ6KGemm() {
  PackedGemm p;
  p.act = ActFormat::kQ8K;
  p.layout = kQ6KLayout;
  p.bytes = BytesQ6_K;
  p.pack = PackQ6_K;
  p.gemv = GemvK<GemvQ6KStep, GroupBytesQ6K>;
  p.gemv_multi = GemvMultiK<kQ6KTok, 10, GroupBytesQ6K>;
  p.panel_bytes = PanelBytesQ6K;
  p.pack_panel = PackPanelQ6K;
  p.gemm = GemmK<UnpackQ6KGroup, MicroByTile<MicroQ6KTile<8>, MicroQ6KTile<16>>, GroupBytesQ6K,
                 kQ6KUnpacked, kQ6KPanel, kQ6KChunk, kQ6KQuant, kQ6KMeta>;
  return p;
}

}  // namespace seekd::kernels
