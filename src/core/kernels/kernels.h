// Compute kernels behind one dispatch table per instruction set (ARCHITECTURE: "the hot loops
// are the product"). A weight row is dotted with an activation row that was first converted to
// the weight type's *activation format*: f32 for float weights, 8-bit blocks for quantized ones
// (so the inner loop is an integer dot product — VNNI's vpdpbusd where the CPU has it).
//
//   weight type                       activation format
//   f32, f16, bf16                    f32
//   q4_0, q4_1, q5_0, q5_1, q8_0      BlockQ8A (32 int8, f32 scale, int sum)
//   q2_K … q6_K                       BlockQ8K (256 int8, f32 scale, 16 partial sums)
//
// The scalar table is the reference: it dequantizes the weight block to f32 and multiplies by
// the dequantized activations, so it is obviously right; the SIMD tables use integer
// arithmetic and are checked against it (tests/core/kernels_test.cc, every type × odd shape ×
// every ISA the machine has).
//
// Thread-safety: tables are immutable; every function is pure.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/dtype.h"

namespace seekd::kernels {

enum class Isa { kScalar, kAvx2, kAvx512 };
std::string_view IsaName(Isa isa);
std::optional<Isa> IsaFromName(std::string_view name);

// Activation blocks (seekd-internal, never stored in files).
struct BlockQ8A {
  float d;      // x ≈ d · q
  int32_t sum;  // Σ q, for weight formats with an offset or a min
  int8_t qs[32];
};
struct BlockQ8K {
  float d;
  int8_t qs[256];
  int16_t bsums[16];  // Σ q over each 16 elements
};
static_assert(sizeof(BlockQ8A) == 40 && sizeof(BlockQ8K) == 292);

// kBF16 is a packed GEMM's own: f32 rows rounded to bf16 (PackedGemm::pack_panel does it).
enum class ActFormat { kF32, kQ8A, kQ8K, kBF16 };

// dot(weight row of n elements, activation row of n elements in the weight's format).
using VecDotFn = float (*)(int64_t n, const void* w, const void* x);
// The same weight row against n_tok activation rows (x + t·x_stride bytes), writing
// out[t·out_stride]: each weight block is unpacked once for all the tokens (prefill, batches).
using VecDotMultiFn = void (*)(int64_t n, const void* w, const void* x, int64_t x_stride, int n_tok,
                               float* out, int64_t out_stride);

// A register-tiled integer GEMM over weights repacked once at load (core/kernels/packed.h):
// rows in groups of 16, each block's quants stored as the 16 rows × 4 consecutive bytes that
// one vpdpbusd takes. Activations are rows in the standard `act` format (BlockQ8A or BlockQ8K,
// as quantize_q8a / quantize_q8k write them). For every output the float operations are the
// same sequence whatever the number of tokens in the call, the tile a token lands in or the
// thread split, so decode (gemv) and prefill (gemm) agree bit for bit. n_rows must be a
// multiple of 16; outputs y[t · n_rows + r], row groups [g0, g1).
struct PackedGemm {
  ActFormat act = ActFormat::kQ8A;
  // Names the packed byte layout and its revision ("q4_K.g16.v1"). Packed copies cached on disk
  // are keyed by it (model/pack_cache.h): change the name whenever `pack` writes other bytes.
  const char* layout = nullptr;
  // Groups of 16 rows are packed independently, one after another: bytes(n_rows) is
  // n_rows / 16 × bytes(16), and packing rows [r0, r1) of a matrix writes exactly the bytes
  // [bytes(r0), bytes(r1)) of its full packed copy (the loader packs in slices).
  uint64_t (*bytes)(int64_t n_rows, int64_t n_cols) = nullptr;
  void (*pack)(const void* w, int64_t n_rows, int64_t n_cols, uint8_t* out) = nullptr;
  void (*gemv)(const uint8_t* w, int64_t n_rows, int64_t n_cols, const void* x, float* y,
               int64_t g0, int64_t g1) = nullptr;
  // Decode batches of 2 … kGemvMultiTokens: n_tok standard activation rows one after another,
  // the same bits as gemv per token, each weight read from memory once; optional.
  void (*gemv_multi)(const uint8_t* w, int64_t n_rows, int64_t n_cols, const void* x, int64_t n_tok,
                     float* y, int64_t g0, int64_t g1) = nullptr;
  // Prefill: the activations first go into a panel of 16-token tiles (tiles [t0, t1) per call).
  // For act kBF16, pack_panel takes the f32 rows and writes them rounded to bf16, one after
  // another, and gemv, gemv_multi and gemm all read those rows.
  uint64_t (*panel_bytes)(int64_t n_tokens, int64_t n_cols) = nullptr;
  void (*pack_panel)(const void* x, int64_t n_tokens, int64_t n_cols, int64_t t0, int64_t t1,
                     uint8_t* panel) = nullptr;
  void (*gemm)(const uint8_t* w, int64_t n_rows, int64_t n_cols, const uint8_t* panel,
               int64_t n_tokens, float* y, int64_t g0, int64_t g1) = nullptr;
};
constexpr int64_t kPackedRows = 16;   // rows per packed group
constexpr int64_t kPanelTokens = 16;  // tokens per panel tile
constexpr int64_t kGemvMultiTokens = 16;

// Attention of query rows that share one KV head — a GQA group's heads, for one or more tokens
// of one sequence — over that head's keys and values: out_i = softmax(scale · q_i·Kᵀ) · V over
// positions [0, n_vis[i]). Keys and values come as runs of consecutive positions (paged KV
// blocks, or one run for a contiguous store); row p of run r is k[r] + p·kv_stride. Every
// output is computed by the same float operations whatever the other rows of the tile, so a
// token's result does not depend on what it was batched with (decode == prefill, alone ==
// among others). Positions below the tile's largest n_vis must hold finite values.
struct AttnTile {
  int64_t head_dim = 0;
  int64_t n_rows = 0;               // at most kAttnMaxRows
  const float* const* q = nullptr;  // [n_rows] → head_dim floats each
  float* const* out = nullptr;      // [n_rows] → head_dim floats each
  const int64_t* n_vis = nullptr;   // [n_rows], each ≥ 1
  float scale = 1;
  const float* const* k = nullptr;  // [n_runs]
  const float* const* v = nullptr;  // [n_runs]
  const int64_t* run = nullptr;     // [n_runs] positions per run, covering max n_vis
  int64_t n_runs = 0;
  int64_t kv_stride = 0;     // floats from one position's row to the next within a run
  float* scratch = nullptr;  // AttnScratchFloats(n_rows, max n_vis, head_dim) floats
  // 8-bit keys and values in place of k/v (null otherwise; only tables with attend_int8 take
  // them): row p of run r is k8[r] + p·q8_stride int8 values, with one scale per q8_group values
  // (a multiple of 16 that divides head_dim, or head_dim) at k8_scale[r] + p·q8_scale_stride. Each
  // value is used as float(q) · scale, rounded once, so the tile gives the bits the f32 tile of
  // those values gives; the kernel converts a few rows at a time instead of the whole head up
  // front.
  const int8_t* const* k8 = nullptr;  // [n_runs]
  const int8_t* const* v8 = nullptr;
  const float* const* k8_scale = nullptr;
  const float* const* v8_scale = nullptr;
  int64_t q8_stride = 0, q8_scale_stride = 0, q8_group = 0;
};
constexpr int64_t kAttnMaxRows = 48;
// P·V walks the positions in blocks of this many (attn_walk.h); score tiles take at most
// kAttnKeyTile positions. 8-bit tiles convert a block of values and a tile of keys into scratch.
constexpr int64_t kAttnValueBlock = 128;
constexpr int64_t kAttnKeyTile = 8;
int64_t AttnScratchFloats(int64_t n_rows, int64_t max_vis, int64_t head_dim);
// Where an 8-bit tile's converted rows start in the scratch: keys [kAttnKeyTile][head_dim],
// then values [kAttnValueBlock][head_dim].
int64_t AttnDequantOffset(int64_t n_rows, int64_t max_vis, int64_t head_dim);

// The bandwidth probe's software prefetch (Kernels::read_streams): none, prefetcht1 (into L2)
// or prefetchnta (the packed decode kernels' weight streams).
enum class ProbePrefetch { kNone, kL2, kNonTemporal };

struct Kernels {
  Isa isa = Isa::kScalar;
  VecDotFn vec_dot[40] = {};             // by DType id; null = type has no kernel
  VecDotMultiFn vec_dot_multi[40] = {};  // optional; MatMul falls back to vec_dot per token
  // f32 → activation format; n a multiple of the format's block (32 / 256).
  void (*quantize_q8a)(const float* x, BlockQ8A* y, int64_t n) = nullptr;
  void (*quantize_q8k)(const float* x, BlockQ8K* y, int64_t n) = nullptr;
  // Per weight type, a table may lay its activation blocks out differently (same values, same
  // sums, quants reordered to match the weight's nibble layout); null = the standard format.
  void (*quantize_act_for[40])(const float* x, void* y, int64_t n) = {};
  // By DType id: the packed GEMM for weight types that have one (all null = none).
  PackedGemm packed[40];
  // Plain f32 helpers used by attention.
  float (*dot_f32)(int64_t n, const float* a, const float* b) = nullptr;
  void (*axpy_f32)(int64_t n, float a, const float* x, float* y) = nullptr;  // y += a·x
  // SwiGLU's y = silu(gate) ⊙ up (y may alias gate or up); null = ops::SiluMul.
  void (*silu_mul)(const float* gate, const float* up, int64_t n, float* y) = nullptr;
  // A whole attention tile (AttnTile); null = Attend's per-row loop over dot_f32 / axpy_f32.
  void (*attend_f32)(const AttnTile& tile) = nullptr;
  bool attend_int8 = false;  // attend_f32 takes AttnTile's 8-bit keys and values
  // Peak-rate probes for bench-model: run the ISA's widest int8 dot-product (vpdpbusd /
  // vpmaddubsw) or f32 FMA instruction on registers only, `iters` rounds of independent
  // chains; return the multiply-adds done.
  uint64_t (*spin_int8)(int64_t iters) = nullptr;
  uint64_t (*spin_f32)(int64_t iters) = nullptr;
  // Bandwidth probe: reads bytes [p, p + n) (n a multiple of 64 · n_streams, p 64-aligned) as
  // n_streams equal contiguous parts in lock step, with the ISA's widest loads; returns a
  // checksum so the reads cannot be elided. Several streams keep more cache-line misses in
  // flight than one, as the packed decode kernels do across row groups; `prefetch` adds, per
  // stream, a software prefetch 4 KiB ahead: into L2, or non-temporal, as those kernels issue.
  uint64_t (*read_streams)(const uint8_t* p, uint64_t n, int n_streams,
                           ProbePrefetch prefetch) = nullptr;
};
// How far ahead read_streams' prefetching variants ask for lines (the packed decode kernels'
// distance).
constexpr uint64_t kProbePrefetch = 4096;

// Whether a weight type has a dot kernel, and the activation format it takes.
bool HasVecDot(DType t);
ActFormat ActFormatOf(DType t);
// Bytes of an activation row of n elements in t's activation format.
int64_t ActRowBytes(DType t, int64_t n);
// Converts one f32 row to t's activation format as table k lays it out (dst holds
// ActRowBytes(t, n)); only k's vec_dot[t] reads the result.
void QuantizeActivations(const Kernels& k, DType t, const float* x, int64_t n, void* dst);

// Runs one attention tile with k's attend_f32, or per row with k's dot_f32 and axpy_f32.
void Attend(const Kernels& k, const AttnTile& tile);

// Tables for the ISAs this build and this CPU support (scalar always first).
std::vector<Isa> AvailableIsas();
const Kernels& KernelsFor(Isa isa);  // isa must be available
// The table chosen at start-up: the best available, or SEEKD_ISA=scalar|avx2|avx512 when set
// (an unavailable or unknown name falls back to the best, with a warning on stderr).
const Kernels& Active();

// Per-ISA tables (defined in scalar.cc, avx2.cc, avx512.cc).
const Kernels& ScalarKernels();
const Kernels* Avx2Kernels();    // null when not compiled in
const Kernels* Avx512Kernels();  // null when not compiled in

}  // namespace seekd::kernels
