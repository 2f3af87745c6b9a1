// The packed int8 GEMM for Q8_0, Q4_0, Q4_K and Q6_K weights on AVX-512 VNNI (Q8_0, Q4_0 and
// Q4_K also on AMX where the CPU and the kernel allow it) and on AVX2: the layouts and the float
// order the Q8_0/Q4_0 variants share (the K-quants' own are in packed_layouts.inc, with every
// type's packing). Kernels::packed holds the variant each table chose; tests and benchmarks reach
// each one here.
//
// Packed weights. Rows in groups of 16; with nb = K/32 and QB = 512 (Q8_0) or 256 (Q4_0), group
// g starts at g · G, G = ⌈nb/2⌉ · P, P = 2 · (QB + 32), and holds the blocks in pairs: pair p at
// p · P is
//   [0, 2·QB)             the quants of blocks 2p and 2p + 1, block 2p + h at h · QB
//   [2·QB, 2·QB + 64)     their 16 rows' fp16 scales, block 2p + h's at 2·QB + 32·h (+2 per row)
//   so a group is one linear stream for decode (packed_layouts.inc: QuantOff, ScaleOff).
//   Q8_0: chunk c (0..7) of a block at 64·c; byte 4·r + j is qs_r[4c + j] + 128 (so the weight
//         is vpdpbusd's unsigned operand and the activation bytes its broadcast signed one).
//   Q4_0: vector v (0..3) of a block at 64·v; byte 4·r + j is the stored byte qs_r[4v + j],
//         whose low nibble is element 4v + j (chunk v) and high nibble element 16 + 4v + j
//         (chunk v + 4): ggml already pairs j with j + 16, so a 4-byte transpose suffices.
// The same bytes as the file (544 / 288 per 16 rows × 32; an odd block count adds a zero block
// and its zero scales per group), so decode reads nothing extra.
//
// Activation panel (prefill). Tiles of 16 tokens; tile tt, block b at (tt · nb + b) · 640:
//   [0, 512) the 16 tokens' 32 quants; [512, 576) their f32 scales; [576, 640) int32
//   corrections −C · Σq (C = 128 for Q8_0, 8 for Q4_0); tokens past the end are zero.
//
// Float order, every variant: for each output (r, t), acc = 0 and for b = 0 … nb − 1
//   s = fp32(dw[r, b]) · da[t, b];  acc = fma((float) isum(r, t, b), s, acc)
// where isum is the exact int32 block dot (Q4_0: Σ (q − 8)·a). Decode, prefill, VNNI and AMX,
// any tile, K-chunk or thread split give the same bits.
#pragma once

#include "core/dtype.h"
#include "core/kernels/kernels.h"
#include "core/kernels/prefetch.h"  // PrefetchL2, for the packed decode kernels

namespace seekd::kernels {

// The VNNI variants (amx = false) or the AMX prefill over the same layouts (amx = true; gemv
// and packing stay VNNI's). All-null when the type has none or AMX is not usable. Compiled for
// AVX-512 like its kernels: call it only where the AVX-512 table is available (even with
// amx = true, an unoptimized build may zero the result with AVX-512 stores before the check).
PackedGemm PackedGemmFor(DType t, bool amx);
// Whether AMX int8 tiles work here: the CPU has them, the kernel grants this process tile data
// (arch_prctl), and SEEKD_AMX is not "0". Asked once.
bool AmxUsable();
// F16 weights widened in registers, f32 FMA (packed_f16_avx512.cc): activations are plain f32
// rows (act kF32; gemm reads them directly, so panel_bytes / pack_panel are null).
PackedGemm PackedF16Gemm();
// BF16 weights (packed_bf16_avx512.cc), one layout for two variants: dpbf16 = true rounds the
// activations to bf16 (act kBF16) and multiplies with vdpbf16ps (all-null when the CPU lacks
// AVX-512 BF16); false widens the weights to f32 and keeps f32 activations (act kF32).
PackedGemm PackedBF16Gemm(bool dpbf16);
// Whether the CPU has AVX-512 BF16 (vdpbf16ps, vcvtneps2bf16). Asked once.
bool Bf16Usable();
// The variant the AVX-512 table takes: widen, unless SEEKD_BF16_DOT=1 and the CPU has AVX-512
// BF16. Where measured (docs/BENCHMARKS.md) vdpbf16ps ran at half the FMA rate in multiply-adds
// per second, so widening was faster for prefill and decode alike, and exact.
bool Bf16DotChosen();
// Peak probe: `iters` rounds of eight independent vdpbf16ps chains; returns the multiply-adds
// done (32 per instruction; 0 without AVX-512 BF16).
uint64_t SpinBf16(int64_t iters);
// Q4_K on VNNI, or with its AMX prefill (amx = true; the same layout, gemv and float order)
// (packed_q4k_avx512.cc).
PackedGemm PackedQ4KGemm(bool amx);
// Q6_K on VNNI (packed_q6k_avx512.cc; no AMX variant).
PackedGemm PackedQ6KGemm();
// The calling thread's scratch for unpacked weight chunks (≤ 16 groups × 64 blocks × 512 B),
// at least `bytes`, 64-aligned, grown on demand and shared by every packed GEMM; not zeroed
// (every byte read is written first). Valid until the thread's next call.
uint8_t* PackedScratch(uint64_t bytes);
// Fills k.packed for the AVX-512 table (AMX prefill when usable).
void AddPackedGemm(Kernels* k);
// Q8_0, Q4_0, Q4_K and Q6_K on AVX2 (packed_int8_avx2.cc): the AVX-512 layouts, float orders
// and bits, vpmaddubsw dots; the prefill panel is the activation rows as they are. All-null for
// other types.
PackedGemm PackedGemmAvx2(DType t);
// F16 and BF16 on AVX2 (packed_float_avx2.cc): the AVX-512 layouts, the widening float orders
// and their bits; f32 activation rows. All-null for other types.
PackedGemm PackedFloatGemmAvx2(DType t);
// Peak probe: `iters` rounds of four independent tdpbssd on full 16 × 64 tiles (16,384
// multiply-adds each); returns the multiply-adds done (0 without AMX).
uint64_t SpinAmx(int64_t iters);

}  // namespace seekd::kernels
