// The packed int8 GEMM on AVX2 (Q8_0, Q4_0, Q4_K and Q6_K): the AVX-512 tables' packed layouts
// (packed_layouts.inc, packed.h) and float orders, so a packed copy serves both tables and both
// give the same bits; only the integer dot differs. Intrinsics and plain C in an anonymous
// namespace, as in the other wide files.
//
// AVX2 has no vpdpbusd. A 32-byte half of a packed 64-byte vector is 8 rows × 4 bytes; against
// a token's 4 activation bytes broadcast to every lane, vpmaddubsw gives per row two int16 sums
// of two products. These add up in int16 while they cannot wrap — Q4_K's whole 32-element
// sub-block (|Σ| ≤ 32·15·128 = 61440 in two halves of 30720), Q6_K's 8-element halves of a
// sub-block (≤ 8·63·128 = 64512 in two of 32256), Q4_0's block — and one vpmaddwd against the
// row's scale (or 1) in both int16 lanes multiplies and widens them to int32 at once: about two
// vector uops per 32 multiply-adds where a vpdpbusd chain takes one, and no vpmulld. Q8_0 takes
// the sign trick and widens every chunk (four uops per 32).
//
// Kernels run over one group's 8-row halves: decode (gemv) both halves and one token at a time,
// decode batches and prefill (gemv_multi, gemm) one half and up to 5 tokens (Q6_K 4): per token
// an int16 and an int32 sum stay in registers, and GCC keeps the f32 accumulators, touched once
// per superblock, on the stack. More tokens per call unpack each weight vector for more dots.
// The prefill panel is the activation rows as quantize_q8a / quantize_q8k write them, copied.
#include <immintrin.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/kernels/packed.h"
#include "core/quant.h"

namespace {

using seekd::kernels::BlockQ8A;
using seekd::kernels::BlockQ8K;

constexpr int kGroupRows = 16;
#include "core/kernels/packed_layouts.inc"   // NOLINT(bugprone-suspicious-include)
#include "core/kernels/packed_prefetch.inc"  // NOLINT(bugprone-suspicious-include)

constexpr int kMaxTok = 5;     // tokens per multi-token kernel call, at most (KType::max_tok)
constexpr int kTokBlock = 64;  // prefill tokens whose K-chunk of activations stays in L2
constexpr int kChunkSb = 6;    // prefill K-chunk in superblocks: a group's chunk stays in L1

inline int MinI(int a, int b) { return a < b ? a : b; }
constexpr uint64_t kQs = offsetof(BlockQ8K, qs), kBsums = offsetof(BlockQ8K, bsums);
static_assert(offsetof(BlockQ8K, d) == 0);  // the f32 scale is read at the block's start

// 4 bytes broadcast to the 8 lanes, as one load uop (GCC may route _mm256_set1_epi32 through a
// general register and a shuffle).
inline __m256i Bcast4(const void* p) {
  __m256i v;
  __asm__("vpbroadcastd %1, %0" : "=x"(v) : "m"(*static_cast<const int32_t*>(p)));
  return v;
}
// s + vpmaddubsw(q, the 4 activation bytes at a4 broadcast), and the same starting a sum, as asm:
// with intrinsics GCC reassociated the int16 adds of a fully unrolled sub-block into a tree
// and spilled the products waiting for it (half the speed).
inline __m256i DotAdd(__m256i s, __m256i q, const uint8_t* a4) {
  __m256i t;
  __asm__("vpbroadcastd %3, %1\n\tvpmaddubsw %1, %2, %1\n\tvpaddw %1, %0, %0"
          : "+x"(s), "=&x"(t)
          : "x"(q), "m"(*reinterpret_cast<const int32_t*>(a4)));
  return s;
}
inline __m256i Dot(__m256i q, const uint8_t* a4) {
  __m256i s;
  __asm__("vpbroadcastd %2, %0\n\tvpmaddubsw %0, %1, %0"
          : "=&x"(s)
          : "x"(q), "m"(*reinterpret_cast<const int32_t*>(a4)));
  return s;
}
inline __m256i Load(const uint8_t* p) {
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(p));
}
// 8 f16 → f32 (F16C).
inline __m256 Half8(const uint8_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
// Per 8 rows: the int16 sums s (two per row) times the row's scale in both int16 lanes, widened
// (vpmaddwd) and added to isc, in asm for the same reason as DotAdd.
inline __m256i ScaleAdd(__m256i isc, __m256i s, __m256i sc) {
  __asm__("vpmaddwd %2, %1, %1\n\tvpaddd %1, %0, %0" : "+x"(isc), "+x"(s) : "x"(sc));
  return isc;
}

// The byte r of 16 bytes (rows of a group) into both int16 lanes of row r − 8h's dword: vpshufb
// indices for half h of a 16-byte row vector broadcast to both 128-bit lanes.
inline __m256i DupMask(int h) {
  alignas(32) int8_t m[32];
  for (int l = 0; l < 2; ++l)
    for (int k = 0; k < 4; ++k) {
      const auto r = static_cast<int8_t>(8 * h + 4 * l + k);
      int8_t* d = m + 16 * l + 4 * k;
      d[0] = r;
      d[1] = -128;
      d[2] = r;
      d[3] = -128;
    }
  return _mm256_load_si256(reinterpret_cast<const __m256i*>(m));
}

// Decode's prefetch over a group's bytes (quants, then scales/meta) as one stream: at block sb,
// a block's share of lines (kStep bytes) kDecodePrefetch further on, past the group's end on
// into the next group when there is one (a thread's groups are contiguous). So the thread's
// range is one linear stream, as the per-row kernels read a matrix. Against prefetching the
// quant and meta streams separately (the AVX-512 kernels' way), one thread's Q6_K decode read
// 1.24× the bytes per second from DRAM, Q8_0 and Q4_0 end to end the same or better, Q4_K_M
// within the noise (docs/BENCHMARKS.md, "AVX2 packed GEMM").
template <uint64_t kStep>
inline void PfLinear(const uint8_t* wg, int64_t nsb, int64_t sb, bool more) {
  const uint64_t len = static_cast<uint64_t>(nsb) * kStep;
  const uint64_t l0 = (static_cast<uint64_t>(sb) * kStep + kDecodePrefetch) / 64;
  const uint64_t l1 = (static_cast<uint64_t>(sb + 1) * kStep + kDecodePrefetch) / 64;
  for (uint64_t l = l0; l < l1; ++l)
    if (more || 64 * l < len) PrefetchL2(wg + 64 * l);
}

// The kernels' f32 accumulators acc[h][t] (half h0 + h, token t): from y, or zero when `first`,
// and back.
template <int NH, int NT>
inline void LoadAcc(__m256 (&acc)[NH][NT], const float* y, int64_t ldy, int h0, bool first) {
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h)
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t)
      acc[h][t] = first ? _mm256_setzero_ps() : _mm256_loadu_ps(y + t * ldy + 8 * (h0 + h));
}
template <int NH, int NT>
inline void StoreAcc(const __m256 (&acc)[NH][NT], float* y, int64_t ldy, int h0) {
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h)
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) _mm256_storeu_ps(y + t * ldy + 8 * (h0 + h), acc[h][t]);
}
// acc = fma((float) isum, fl(w_scale · da), acc): every type's float step, da the f32 at the
// start of the token's activation block.
inline __m256 ScaledFma(__m256i isum, __m256 w_scale, const uint8_t* ablock, __m256 acc) {
  return _mm256_fmadd_ps(
      _mm256_cvtepi32_ps(isum),
      _mm256_mul_ps(w_scale, _mm256_broadcast_ss(reinterpret_cast<const float*>(ablock))), acc);
}

// ---- Q4_K ----------------------------------------------------------------------------------

// sc_j of half h's rows in both int16 lanes (u8 scales, from the meta's sc[j][16]).
inline __m256i Q4KScale(const uint8_t* meta, int j, __m256i dup) {  // meta: the superblock's
  const __m256i v = _mm256_broadcastsi128_si256(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(meta + 64 + 16 * j)));
  return _mm256_shuffle_epi8(v, dup);
}

// 8-row halves h0 … h0 + NH − 1 of one group × NT tokens over superblocks [sb0, sb1), in
// gemv's float order: acc starts from y (or 0 when `first`) and goes back to y. a[t] is token
// t's row of BlockQ8K; y + t·ldy + 8h is its output for half h. pf: prefetch the group (and on
// into `next`, the range's next group or null), as the first pass over a group does.
template <int NH, int NT>
void Q4KRun(const uint8_t* wg, int64_t nsb, int h0, int sb0, int sb1, const uint8_t* const* a,
            float* y, int64_t ldy, bool first, bool pf, const uint8_t* next) {
  const __m256i m0f = _mm256_set1_epi8(0x0F);
  const __m256 sign = _mm256_set1_ps(-0.0f);
  __m256i dup[NH];
  __m256 acc[NH][NT];
  LoadAcc(acc, y, ldy, h0, first);
#pragma GCC unroll 2
  for (int h = 0; h < NH; ++h) dup[h] = DupMask(h0 + h);
  // Running pointers, so every load below is a constant offset from one of them (offsets
  // computed from h0 and sb in the loop body were kept in 30 stack slots).
  const uint8_t* wq = wg + sb0 * kQ4KSb + 32 * h0;                // half h0's quants
  const uint8_t* meta = wg + sb0 * kQ4KSb + kQ4KQuant + 16 * h0;  // and its meta
  const uint8_t* ab[NT];                                          // token t's superblock
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) ab[t] = a[t] + sb0 * sizeof(BlockQ8K);
  for (int64_t sb = sb0; sb < sb1; ++sb, wq += kQ4KSb, meta += kQ4KSb) {
    if (pf) PfLinear<kQ4KSb>(wg, nsb, sb, next != nullptr);
    __m256i isc[NH][NT];
#pragma GCC unroll 8
    for (int j = 0; j < 8; ++j) {
      __m256i s[NH][NT];
#pragma GCC unroll 8
      for (int v = 0; v < 8; ++v) {
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          const __m256i raw = Load(wq + (j / 2) * 512 + v * 64 + 32 * h);
          const __m256i q = _mm256_and_si256(j % 2 == 0 ? raw : _mm256_srli_epi16(raw, 4), m0f);
#pragma GCC unroll 8
          for (int t = 0; t < NT; ++t) {
            const uint8_t* a4 = ab[t] + kQs + 32 * j + 4 * v;
            s[h][t] = v == 0 ? Dot(q, a4) : DotAdd(s[h][t], q, a4);
          }
        }
      }
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) {
        const __m256i sc = Q4KScale(meta - 16 * h0, j, dup[h]);
#pragma GCC unroll 8
        for (int t = 0; t < NT; ++t) {
          isc[h][t] = j == 0 ? _mm256_madd_epi16(s[h][t], sc) : ScaleAdd(isc[h][t], s[h][t], sc);
        }
      }
    }
    alignas(16) int32_t bs[NT][4];
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) {
      const auto* b = reinterpret_cast<const __m128i*>(ab[t] + kBsums);
      _mm_store_si128(reinterpret_cast<__m128i*>(bs[t]),
                      _mm_hadd_epi16(_mm_loadu_si128(b), _mm_loadu_si128(b + 1)));
    }
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      const int hh = h;  // meta is half h0's already
      const __m256 d = Half8(meta + 16 * hh);
      const __m256 ndmin = _mm256_xor_ps(Half8(meta + 32 + 16 * hh), sign);
      __m256i mp[4];
#pragma GCC unroll 8
      for (int q = 0; q < 4; ++q)
        mp[q] = _mm256_cvtepu8_epi16(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(meta + 192 + 32 * q + 16 * hh)));
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) {
        __m256i ms = _mm256_madd_epi16(mp[0], Bcast4(bs[t]));
#pragma GCC unroll 3
        for (int q = 1; q < 4; ++q)
          ms = _mm256_add_epi32(ms, _mm256_madd_epi16(mp[q], Bcast4(bs[t] + q)));
        acc[h][t] = ScaledFma(isc[h][t], d, ab[t], acc[h][t]);
        acc[h][t] = ScaledFma(ms, ndmin, ab[t], acc[h][t]);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) ab[t] += sizeof(BlockQ8K);
  }
  StoreAcc(acc, y, ldy, h0);
}

// ---- Q6_K ----------------------------------------------------------------------------------

// Sub-block j's chunk c for half h's rows as u8 0..63: its low nibbles (from the pair's vector
// nib) and high two bits (from the quad's vector hb) put together (j a constant where inlined).
inline __m256i Q6Chunk(__m256i nib, __m256i hb, int j) {
  const __m256i lo =
      _mm256_and_si256(j % 2 == 0 ? nib : _mm256_srli_epi16(nib, 4), _mm256_set1_epi8(0x0F));
  const int m = j % 4;  // hb's bits 2m, 2m + 1 → bits 4, 5
  const __m256i hi = m == 0   ? _mm256_slli_epi16(hb, 4)
                     : m == 1 ? _mm256_slli_epi16(hb, 2)
                     : m == 2 ? hb
                              : _mm256_srli_epi16(hb, 2);
  return _mm256_or_si256(lo, _mm256_and_si256(hi, _mm256_set1_epi8(0x30)));
}

// Half h's rows' scale pairs (sc_2q, sc_2q+1) as int16, and sc_j alone in both int16 lanes.
inline __m256i Q6Pairs(const uint8_t* meta, int q, int h) {
  return _mm256_cvtepi8_epi16(
      _mm_loadu_si128(reinterpret_cast<const __m128i*>(meta + 32 + 32 * q + 16 * h)));
}
inline __m256i Q6Scale(__m256i pairs, int j) {
  const __m256i even = _mm256_setr_epi8(0, 1, 0, 1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13, 0, 1, 0,
                                        1, 4, 5, 4, 5, 8, 9, 8, 9, 12, 13, 12, 13);
  const __m256i odd = _mm256_setr_epi8(2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15, 2, 3,
                                       2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15);
  return _mm256_shuffle_epi8(pairs, j % 2 == 0 ? even : odd);
}

// As Q4KRun, for Q6_K (its float order: packed_layouts.inc).
template <int NH, int NT>
void Q6KRun(const uint8_t* wg, int64_t nsb, int h0, int sb0, int sb1, const uint8_t* const* a,
            float* y, int64_t ldy, bool first, bool pf, const uint8_t* next) {
  __m256 acc[NH][NT];
  LoadAcc(acc, y, ldy, h0, first);
  const uint8_t* wq = wg + sb0 * kQ6KSb;                          // running pointers, as in Q4KRun
  const uint8_t* meta = wg + sb0 * kQ6KSb + kQ6KQuant + 16 * h0;  // half h0's meta
  const uint8_t* ab[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) ab[t] = a[t] + sb0 * sizeof(BlockQ8K);
  for (int64_t sb = sb0; sb < sb1; ++sb, wq += kQ6KSb, meta += kQ6KSb) {
    if (pf) PfLinear<kQ6KSb>(wg, nsb, sb, next != nullptr);
    const uint8_t* wh = wq + 32 * h0;
    __m256i isc[NH][NT];
#pragma GCC unroll 16
    for (int j = 0; j < 16; ++j) {
      __m256i sc[NH];
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) sc[h] = Q6Scale(Q6Pairs(meta, j / 2, h), j);
        // Chunks 0–1 and 2–3 each add up in int16, then widen times the scale.
#pragma GCC unroll 2
      for (int half = 0; half < 2; ++half) {
        __m256i s[NH][NT];
#pragma GCC unroll 2
        for (int c = 2 * half; c < 2 * half + 2; ++c)
#pragma GCC unroll 2
          for (int h = 0; h < NH; ++h) {
            const int off = 64 * c + 32 * h;
            const __m256i q =
                Q6Chunk(Load(wh + 256 * (j / 2) + off), Load(wh + 2048 + 256 * (j / 4) + off), j);
#pragma GCC unroll 8
            for (int t = 0; t < NT; ++t) {
              const uint8_t* a4 = ab[t] + kQs + 16 * j + 4 * c;
              s[h][t] = c % 2 == 0 ? Dot(q, a4) : DotAdd(s[h][t], q, a4);
            }
          }
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h)
#pragma GCC unroll 8
          for (int t = 0; t < NT; ++t) {
            isc[h][t] = j == 0 && half == 0 ? _mm256_madd_epi16(s[h][t], sc[h])
                                            : ScaleAdd(isc[h][t], s[h][t], sc[h]);
          }
      }
    }
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      const __m256 d = Half8(meta + 16 * h);
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) {
        // The −32 offset: Σ_j sc_j · bsum_j, the bsums' int16 pairs against the scale pairs.
        const auto* bp = reinterpret_cast<const int32_t*>(ab[t] + kBsums);
        __m256i ms = _mm256_madd_epi16(Q6Pairs(meta, 0, h), Bcast4(bp));
#pragma GCC unroll 7
        for (int q = 1; q < 8; ++q)
          ms = _mm256_add_epi32(ms, _mm256_madd_epi16(Q6Pairs(meta, q, h), Bcast4(bp + q)));
        const __m256i tot = _mm256_sub_epi32(isc[h][t], _mm256_slli_epi32(ms, 5));
        acc[h][t] = ScaledFma(tot, d, ab[t], acc[h][t]);
      }
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) ab[t] += sizeof(BlockQ8K);
  }
  StoreAcc(acc, y, ldy, h0);
}

// ---- Q8_0 and Q4_0 -------------------------------------------------------------------------
// Q8_0's packed bytes are w + 128 (vpdpbusd's unsigned operand), which vpmaddubsw cannot take
// against signed bytes without wrapping: the kernel flips them back to w and multiplies
// |w| by a·sign(w) (|a| ≤ 127: pairs ≤ 2·128·127, inside int16), widening every chunk's pairs.
// Q4_0's nibbles 0..15 sum a whole block in int16 (≤ 8·2·15·127) and take the −8 offset from
// the activation block's Σq.

// acc + vpmaddwd(vpmaddubsw(aw, a4 broadcast · sign(ws)), 1): one Q8_0 chunk for 8 rows.
inline __m256i SignDotAdd(__m256i acc, __m256i aw, __m256i ws, const uint8_t* a4, __m256i ones) {
  __m256i t;
  __asm__(
      "vpbroadcastd %4, %1\n\tvpsignb %3, %1, %1\n\tvpmaddubsw %1, %2, %1\n\t"
      "vpmaddwd %5, %1, %1\n\tvpaddd %1, %0, %0"
      : "+x"(acc), "=&x"(t)
      : "x"(aw), "x"(ws), "m"(*reinterpret_cast<const int32_t*>(a4)), "x"(ones));
  return acc;
}

// As Q4KRun, over 32-element blocks [b0, b1) of Q8_0 (kQ4 false) or Q4_0 rows; a[t] is token
// t's row of BlockQ8A. Float order (packed.h): acc = fma((float) isum, fp32(dw) · da, acc).
template <bool kQ4, int NH, int NT>
void B32Run(const uint8_t* wg, int64_t nb, int h0, int b0, int b1, const uint8_t* const* a,
            float* y, int64_t ldy, bool first, bool pf, const uint8_t* next) {
  constexpr uint64_t kQB = kQ4 ? kQ4Quant : kQ8Quant;
  constexpr uint64_t kAq = offsetof(BlockQ8A, qs), kAsum = offsetof(BlockQ8A, sum);
  static_assert(offsetof(BlockQ8A, d) == 0);
  const __m256i ones = _mm256_set1_epi16(1);
  const __m256i m0f = _mm256_set1_epi8(0x0F);
  const __m256i k80 = _mm256_set1_epi8(static_cast<char>(0x80));
  __m256 acc[NH][NT];
  LoadAcc(acc, y, ldy, h0, first);
  const uint8_t* ab[NT];
#pragma GCC unroll 8
  for (int t = 0; t < NT; ++t) ab[t] = a[t] + b0 * sizeof(BlockQ8A);
  for (int64_t b = b0; b < b1; ++b) {
    if (pf) PfLinear<kQB + kScaleBytes>(wg, nb, b, next != nullptr);  // pairs: a linear stream
    const uint8_t* wq = wg + QuantOff(b, kQ4) + 32 * h0;
    const uint8_t* wd = wg + ScaleOff(b, kQ4) + 16 * h0;  // half h0's f16 scales
    __m256i isum[NH][NT];
    if constexpr (kQ4) {
#pragma GCC unroll 2
      for (int h = 0; h < NH; ++h) {
        __m256i s[NT];
#pragma GCC unroll 8
        for (int v = 0; v < 4; ++v) {
          const __m256i raw = Load(wq + 64 * v + 32 * h);
          const __m256i lo = _mm256_and_si256(raw, m0f);
          const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m0f);
#pragma GCC unroll 8
          for (int t = 0; t < NT; ++t) {
            s[t] = v == 0 ? Dot(lo, ab[t] + kAq) : DotAdd(s[t], lo, ab[t] + kAq + 4 * v);
            s[t] = DotAdd(s[t], hi, ab[t] + kAq + 16 + 4 * v);
          }
        }
#pragma GCC unroll 8
        for (int t = 0; t < NT; ++t)  // Σ (q − 8)·a = Σ q·a − 8·Σ a
          isum[h][t] = _mm256_sub_epi32(_mm256_madd_epi16(s[t], ones),
                                        _mm256_slli_epi32(Bcast4(ab[t] + kAsum), 3));
      }
    } else {
#pragma GCC unroll 8
      for (int c = 0; c < 8; ++c)
#pragma GCC unroll 2
        for (int h = 0; h < NH; ++h) {
          const __m256i ws = _mm256_xor_si256(Load(wq + 64 * c + 32 * h), k80);
          const __m256i aw = _mm256_abs_epi8(ws);
#pragma GCC unroll 8
          for (int t = 0; t < NT; ++t)
            isum[h][t] = SignDotAdd(c == 0 ? _mm256_setzero_si256() : isum[h][t], aw, ws,
                                    ab[t] + kAq + 4 * c, ones);
        }
    }
#pragma GCC unroll 2
    for (int h = 0; h < NH; ++h) {
      const __m256 dw = Half8(wd + 16 * h);
#pragma GCC unroll 8
      for (int t = 0; t < NT; ++t) acc[h][t] = ScaledFma(isum[h][t], dw, ab[t], acc[h][t]);
    }
#pragma GCC unroll 8
    for (int t = 0; t < NT; ++t) ab[t] += sizeof(BlockQ8A);
  }
  StoreAcc(acc, y, ldy, h0);
}

// ---- Loop nests (every type) ---------------------------------------------------------------
// A row is n_cols / unit activation blocks of `block` bytes (BlockQ8K per 256 columns for the
// K-quants, BlockQ8A per 32 for Q8_0 and Q4_0); kernels take each token's row as bytes and run
// over the row's blocks [u0, u1).

using RunFn = void (*)(const uint8_t*, int64_t, int, int, int, const uint8_t* const*, float*,
                       int64_t, bool, bool, const uint8_t*);
struct KType {
  uint64_t (*group_bytes)(int64_t n_cols);
  int64_t unit;    // columns per activation block
  uint64_t block;  // bytes per activation block
  int chunk;       // prefill K-chunk in blocks (1536 columns: a group's chunk stays in L1)
  // Tokens per call, at most: 5 for Q4_K, Q8_0 and Q4_0; 4 for Q6_K, whose 5-token kernel runs
  // short of registers (bench/kernels gemv/<type>/avx2/256KB/10tok, 10 = 5 + 5 against
  // 4 + 3 + 3 on a Zen 3, 3 alternating runs: Q4_K 1.11-1.20x, Q4_0 1.04-1.20x, Q8_0 0.97-1.05x,
  // Q6_K 0.84-0.99x).
  int max_tok;
  RunFn gemv;          // both halves, one token
  RunFn tok[kMaxTok];  // one half, 1 … max_tok tokens
};

// Decode: each group's both halves at once (the broadcasts serve 16 rows), prefetched 4 KiB
// ahead and on into the next group of the range.
template <const KType* kT>
void Gemv(const uint8_t* w, int64_t /*n_rows*/, int64_t n_cols, const void* x, float* y, int64_t g0,
          int64_t g1) {
  const auto* a = static_cast<const uint8_t*>(x);
  const int64_t nu = n_cols / kT->unit;
  const uint64_t gs = kT->group_bytes(n_cols);
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* wg = w + static_cast<uint64_t>(g) * gs;
    kT->gemv(wg, nu, 0, 0, static_cast<int>(nu), &a, y + g * 16, 0, true, true,
             g + 1 < g1 ? wg + gs : nullptr);
  }
}

// Tokens [t0, t1) (rows of nu blocks) against half h of group wg over blocks [u0, u1), in calls
// of at most max_tok tokens as even as they go; the first call prefetches when pf.
template <const KType* kT>
inline void TokenRange(const uint8_t* wg, int64_t nu, int h, int u0, int u1, const uint8_t* a,
                       int64_t t0, int64_t t1, float* y, int64_t ldy, bool first, bool pf,
                       const uint8_t* next) {
  const int64_t n = t1 - t0, nblk = (n + kT->max_tok - 1) / kT->max_tok;
  const uint64_t row = static_cast<uint64_t>(nu) * kT->block;
  for (int64_t b = 0; b < nblk; ++b) {
    const int64_t s0 = t0 + n * b / nblk, s1 = t0 + n * (b + 1) / nblk;
    const uint8_t* rows[kMaxTok];
    for (int64_t t = s0; t < s1; ++t) rows[t - s0] = a + static_cast<uint64_t>(t) * row;
    kT->tok[s1 - s0 - 1](wg, nu, h, u0, u1, rows, y + s0 * ldy, ldy, first, pf && b == 0, next);
  }
}

// Decode batches (2 … 16 tokens): per group and half, the tokens in blocks of up to 5; the first
// pass brings the group in from memory, the others find it in L1/L2.
template <const KType* kT>
void GemvMulti(const uint8_t* w, int64_t n_rows, int64_t n_cols, const void* x, int64_t n_tok,
               float* y, int64_t g0, int64_t g1) {
  const auto* a = static_cast<const uint8_t*>(x);
  const int64_t nu = n_cols / kT->unit;
  const uint64_t gs = kT->group_bytes(n_cols);
  for (int64_t g = g0; g < g1; ++g) {
    const uint8_t* wg = w + static_cast<uint64_t>(g) * gs;
    for (int h = 0; h < 2; ++h)
      TokenRange<kT>(wg, nu, h, 0, static_cast<int>(nu), a, 0, n_tok, y + g * 16, n_rows, true,
                     h == 0, g + 1 < g1 ? wg + gs : nullptr);
  }
}

// Prefill: token blocks of 64 > K-chunks > groups > halves > tokens by 4. The f32 partial sums
// go through y between K-chunks, which keeps the float order.
template <const KType* kT>
void Gemm(const uint8_t* w, int64_t n_rows, int64_t n_cols, const uint8_t* panel, int64_t n_tokens,
          float* y, int64_t g0, int64_t g1) {
  const int nu = static_cast<int>(n_cols / kT->unit);
  const uint64_t gs = kT->group_bytes(n_cols);
  for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokBlock) {
    const int64_t t1 = t0 + kTokBlock < n_tokens ? t0 + kTokBlock : n_tokens;
    for (int kb = 0; kb < nu; kb += kT->chunk) {
      const int ke = MinI(nu, kb + kT->chunk);
      for (int64_t g = g0; g < g1; ++g)
        for (int h = 0; h < 2; ++h)
          TokenRange<kT>(w + static_cast<uint64_t>(g) * gs, nu, h, kb, ke, panel, t0, t1,
                         y + g * 16, n_rows, kb == 0, false, nullptr);
    }
  }
}

template <const KType* kT>
uint64_t PanelBytes(int64_t n_tokens, int64_t n_cols) {
  return static_cast<uint64_t>(n_tokens) * static_cast<uint64_t>(n_cols / kT->unit) * kT->block;
}
// Tiles [t0, t1) of 16 tokens: the activation rows as they are.
template <const KType* kT>
void PackPanel(const void* src, int64_t n_tokens, int64_t n_cols, int64_t t0, int64_t t1,
               uint8_t* panel) {
  const int64_t e = t1 * kGroupRows < n_tokens ? t1 * kGroupRows : n_tokens;
  const uint64_t row = static_cast<uint64_t>(n_cols / kT->unit) * kT->block;
  const uint64_t b0 = static_cast<uint64_t>(t0 * kGroupRows) * row;
  if (e > t0 * kGroupRows)
    std::memcpy(panel + b0, static_cast<const uint8_t*>(src) + b0,
                static_cast<uint64_t>(e - t0 * kGroupRows) * row);
}

constexpr KType kQ4K = {GroupBytesQ4K,
                        256,
                        sizeof(BlockQ8K),
                        6,
                        5,
                        Q4KRun<2, 1>,
                        {Q4KRun<1, 1>, Q4KRun<1, 2>, Q4KRun<1, 3>, Q4KRun<1, 4>, Q4KRun<1, 5>}};
constexpr KType kQ6K = {GroupBytesQ6K,
                        256,
                        sizeof(BlockQ8K),
                        6,
                        4,
                        Q6KRun<2, 1>,
                        {Q6KRun<1, 1>, Q6KRun<1, 2>, Q6KRun<1, 3>, Q6KRun<1, 4>, nullptr}};
uint64_t GroupBytesQ8(int64_t n_cols) { return GroupBytes(n_cols, false); }
uint64_t GroupBytesQ4(int64_t n_cols) { return GroupBytes(n_cols, true); }
// Q8_0 (kQ4 false) and Q4_0.
template <bool kQ4>
constexpr KType kB32 = {kQ4 ? GroupBytesQ4 : GroupBytesQ8,
                        32,
                        sizeof(BlockQ8A),
                        48,
                        5,
                        B32Run<kQ4, 2, 1>,
                        {B32Run<kQ4, 1, 1>, B32Run<kQ4, 1, 2>, B32Run<kQ4, 1, 3>, B32Run<kQ4, 1, 4>,
                         B32Run<kQ4, 1, 5>}};

template <const KType* kT>
seekd::kernels::PackedGemm Make(seekd::kernels::ActFormat act, const char* layout,
                                uint64_t (*bytes)(int64_t, int64_t),
                                void (*pack)(const void*, int64_t, int64_t, uint8_t*)) {
  seekd::kernels::PackedGemm p;
  p.act = act;
  p.layout = layout;
  p.bytes = bytes;
  p.pack = pack;
  p.gemv = Gemv<kT>;
  p.gemv_multi = GemvMulti<kT>;
  p.panel_bytes = PanelBytes<kT>;
  p.pack_panel = PackPanel<kT>;
  p.gemm = Gemm<kT>;
  return p;
}

}  // namespace

namespace seekd::kernels {

PackedGemm PackedGemmAvx2(DType t) {
  // The same layout names as the AVX-512 table: the packed bytes are the same.
  using enum ActFormat;
  if (t == DType::kQ8_0) return Make<&kB32<false>>(kQ8A, kQ80Layout, BytesQ8_0, PackQ8_0);
  if (t == DType::kQ4_0) return Make<&kB32<true>>(kQ8A, kQ40Layout, BytesQ4_0, PackQ4_0);
  if (t == DType::kQ4_K) return Make<&kQ4K>(kQ8K, kQ4KLayout, BytesQ4_K, PackQ4_K);
  if (t == DType::kQ6_K) return Make<&kQ6K>(kQ8K, kQ6KLayout, BytesQ6_K, PackQ6_K);
  return {};
}

}  // namespace seekd::kernels
