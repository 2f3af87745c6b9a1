#include "core/matmul.h"

#include <algorithm>
#include <memory>

namespace seekd {

namespace {
constexpr int64_t kRowTile = 16;    // weight rows kept hot in L1 while tokens stream past
constexpr int64_t kTokenTile = 64;  // activation rows kept in L2 per pass over a row tile
// Software prefetch distance while streaming weights. The hardware prefetcher stops at each
// 4 KiB page; running this far ahead keeps DRAM busy across page boundaries (bench/kernels:
// +20–40% weight throughput from DRAM on every type).
constexpr uint64_t kPrefetchBytes = 2048;

// Prefetches [begin, end) clipped to limit, one line at a time.
inline void Prefetch(const uint8_t* begin, const uint8_t* end, const uint8_t* limit) {
  for (const uint8_t* p = begin; p < end && p < limit; p += 64) __builtin_prefetch(p);
}
}  // namespace

namespace {
// Decode regions split their row groups guided (ThreadPool::ParallelForGuided): chunks of what
// is left ÷ (2 · threads), in whole batches of kGroupBatch. Each chunk's start is a prefetch the
// previous range could not run ahead into, so the first chunks are long; the last are a batch,
// so the threads end within one of each other (four equal chunks per thread left the pool's
// waits at 5% of a Q4_0 decode). Against those equal chunks, decode 1.013× (Q4_0) and 1.025×
// (Q4_K_M), medians of 5 and 10 alternating rounds; 10-stream batches level (docs/BENCHMARKS.md,
// "Q6_K decode prefetch in eighths; bench-engine rounds; where decode loses time").
constexpr int64_t kGroupBatch = 4;

bool Quantized(kernels::ActFormat a) {
  return a == kernels::ActFormat::kQ8A || a == kernels::ActFormat::kQ8K;
}
// Bytes of one token's standard BlockQ8A / BlockQ8K row.
int64_t ActBytes(kernels::ActFormat a, int64_t n_cols) {
  return a == kernels::ActFormat::kQ8K
             ? n_cols / 256 * static_cast<int64_t>(sizeof(kernels::BlockQ8K))
             : n_cols / 32 * static_cast<int64_t>(sizeof(kernels::BlockQ8A));
}

// Whether a packed matrix takes a decode path for n_tokens: one token (gemv) or, with quantized
// activations, a decode batch (gemv_multi). More tokens, and float activations (F16, BF16, F32
// weights, whose gemv_multi is the GEMM) from two tokens on, run the tiled GEMM.
bool DecodePath(const kernels::PackedGemm& pg, int64_t n_tokens) {
  if (!Quantized(pg.act)) return n_tokens == 1;
  return n_tokens == 1 || (pg.gemv_multi != nullptr && n_tokens <= kernels::kGemvMultiTokens);
}

// One token's activations in the standard layout PackedGemm reads.
void QuantizeRow(const kernels::Kernels& k, kernels::ActFormat a, const float* x, int64_t n_cols,
                 uint8_t* out) {
  if (a == kernels::ActFormat::kQ8K)
    k.quantize_q8k(x, reinterpret_cast<kernels::BlockQ8K*>(out), n_cols);
  else
    k.quantize_q8a(x, reinterpret_cast<kernels::BlockQ8A*>(out), n_cols);
}

// The decode paths' activations: every token's row, one after another, in scratch->act (few
// rows: quantized on the calling thread, not worth a hand-off); f32 rows as they are, bf16 ones
// rounded by the table's pack_panel.
const uint8_t* DecodeActivations(const kernels::Kernels& k, ThreadPool& pool,
                                 const kernels::PackedGemm& pg, const float* x, int64_t n_tokens,
                                 int64_t n_cols, MatMulScratch* scratch) {
  const kernels::ActFormat a = pg.act;
  if (a == kernels::ActFormat::kF32) return reinterpret_cast<const uint8_t*>(x);
  if (a == kernels::ActFormat::kBF16) {
    scratch->act.resize(static_cast<size_t>(pg.panel_bytes(n_tokens, n_cols)));
    pg.pack_panel(x, n_tokens, n_cols, 0,
                  (n_tokens + kernels::kPanelTokens - 1) / kernels::kPanelTokens,
                  scratch->act.data());
    return scratch->act.data();
  }
  const int64_t act_bytes = ActBytes(a, n_cols);
  scratch->act.resize(static_cast<size_t>(act_bytes * n_tokens));
  uint8_t* act = scratch->act.data();
  if (n_tokens == 1) {  // one row: not worth waking the pool
    QuantizeRow(k, a, x, n_cols, act);
    return act;
  }
  // A decode batch's rows split across the pool: on one thread they were about 1% of a 10-token
  // step, with the other threads waiting.
  pool.ParallelFor(n_tokens, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t)
      QuantizeRow(k, a, x + t * n_cols, n_cols, act + t * act_bytes);
  });
  return act;
}

// Row groups [g0, g1) of one matrix on a decode path.
void DecodeGroups(const kernels::PackedGemm& pg, const MatrixView& w, const uint8_t* act,
                  int64_t n_tokens, float* y, int64_t g0, int64_t g1) {
  if (n_tokens == 1)
    pg.gemv(w.packed, w.n_rows, w.n_cols, act, y, g0, g1);
  else
    pg.gemv_multi(w.packed, w.n_rows, w.n_cols, act, n_tokens, y, g0, g1);
}

// The table's PackedGemm for a matrix repacked for it, or null (the per-row kernels).
const kernels::PackedGemm* PackedOf(const kernels::Kernels& k, const MatrixView& w) {
  if (w.packed == nullptr) return nullptr;
  const kernels::PackedGemm& pg = k.packed[static_cast<int>(w.dtype)];
  return pg.gemm != nullptr ? &pg : nullptr;
}

// The packed path: gemv (one token), gemv_multi (a decode batch) or a panel of 16-token tiles
// and the tiled gemm, row groups split across the pool.
void PackedMatMul(const kernels::Kernels& k, const kernels::PackedGemm& pg, ThreadPool& pool,
                  const MatrixView& w, const float* x, int64_t n_tokens, float* y,
                  MatMulScratch* scratch) {
  const int64_t n_groups = w.n_rows / kernels::kPackedRows;
  if (DecodePath(pg, n_tokens)) {
    const uint8_t* act = DecodeActivations(k, pool, pg, x, n_tokens, w.n_cols, scratch);
    pool.ParallelForGuided(n_groups, kGroupBatch, [&](int64_t g0, int64_t g1, int) {
      DecodeGroups(pg, w, act, n_tokens, y, g0, g1);
    });
    return;
  }
  // f32 rows as they are, or rounded to bf16 by the kernel: no quantization, no tiles.
  if (!Quantized(pg.act)) {
    const auto* rows = reinterpret_cast<const uint8_t*>(x);
    if (pg.act == kernels::ActFormat::kBF16) {
      scratch->act.resize(static_cast<size_t>(pg.panel_bytes(n_tokens, w.n_cols)));
      uint8_t* bf16 = scratch->act.data();
      const int64_t n_tiles = (n_tokens + kernels::kPanelTokens - 1) / kernels::kPanelTokens;
      pool.ParallelFor(n_tiles, [&](int64_t t0, int64_t t1, int) {  // decode: one, inline
        pg.pack_panel(x, n_tokens, w.n_cols, t0, t1, bf16);
      });
      rows = bf16;
    }
    pool.ParallelFor(n_groups, [&](int64_t g0, int64_t g1, int) {
      pg.gemm(w.packed, w.n_rows, w.n_cols, rows, n_tokens, y, g0, g1);
    });
    return;
  }
  const int64_t act_bytes = ActBytes(pg.act, w.n_cols);
  scratch->act.resize(static_cast<size_t>(act_bytes * n_tokens));
  uint8_t* act = scratch->act.data();
  const int64_t n_tiles = (n_tokens + kernels::kPanelTokens - 1) / kernels::kPanelTokens;
  const auto panel_bytes = static_cast<size_t>(pg.panel_bytes(n_tokens, w.n_cols));
  scratch->panel.resize(panel_bytes + 64);
  // 64-byte aligned: the kernels load whole panel lines.
  void* aligned = scratch->panel.data();
  size_t space = scratch->panel.size();
  auto* panel = static_cast<uint8_t*>(std::align(64, panel_bytes, aligned, space));
  pool.ParallelFor(n_tiles, [&](int64_t t0, int64_t t1, int) {
    const int64_t tok1 = std::min(n_tokens, t1 * kernels::kPanelTokens);
    for (int64_t t = t0 * kernels::kPanelTokens; t < tok1; ++t)
      QuantizeRow(k, pg.act, x + t * w.n_cols, w.n_cols, act + t * act_bytes);
    pg.pack_panel(act, n_tokens, w.n_cols, t0, t1, panel);
  });
  pool.ParallelFor(n_groups, [&](int64_t g0, int64_t g1, int) {
    pg.gemm(w.packed, w.n_rows, w.n_cols, panel, n_tokens, y, g0, g1);
  });
}
}  // namespace

void MatMul(const kernels::Kernels& k, ThreadPool& pool, const MatrixView& w, const float* x,
            int64_t n_tokens, float* y, MatMulScratch* scratch) {
  if (const kernels::PackedGemm* pg = PackedOf(k, w))
    return PackedMatMul(k, *pg, pool, w, x, n_tokens, y, scratch);
  const kernels::VecDotFn dot = k.vec_dot[static_cast<int>(w.dtype)];
  const kernels::VecDotMultiFn multi = k.vec_dot_multi[static_cast<int>(w.dtype)];
  SEEKD_CHECK(dot != nullptr);
  const int64_t act_bytes = kernels::ActRowBytes(w.dtype, w.n_cols);
  scratch->act.resize(static_cast<size_t>(act_bytes * n_tokens));
  uint8_t* act = scratch->act.data();

  // [n_tokens, act_bytes]: activations converted once per call.
  if (n_tokens == 1) {
    kernels::QuantizeActivations(k, w.dtype, x, w.n_cols, act);
  } else {
    pool.ParallelFor(n_tokens, [&](int64_t begin, int64_t end, int) {
      for (int64_t t = begin; t < end; ++t)
        kernels::QuantizeActivations(k, w.dtype, x + t * w.n_cols, w.n_cols, act + t * act_bytes);
    });
  }

  // Rows are split across threads in whole tiles so each thread's rows are contiguous.
  const int64_t n_tiles = (w.n_rows + kRowTile - 1) / kRowTile;
  pool.ParallelFor(n_tiles, [&](int64_t tile_begin, int64_t tile_end, int) {
    const int64_t r_begin = tile_begin * kRowTile, r_end = std::min(w.n_rows, tile_end * kRowTile);
    if (n_tokens == 1) {
      const uint8_t* limit = w.Row(r_end);
      for (int64_t r = r_begin; r < r_end; ++r) {
        Prefetch(w.Row(r) + kPrefetchBytes, w.Row(r + 1) + kPrefetchBytes, limit);
        y[r] = dot(w.n_cols, w.Row(r), act);
      }
      return;
    }
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokenTile) {
      const int64_t t1 = std::min(n_tokens, t0 + kTokenTile);
      for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowTile) {
        const int64_t r1 = std::min(r_end, r0 + kRowTile);
        if (multi != nullptr) {  // each weight block unpacked once for the whole token tile
          for (int64_t r = r0; r < r1; ++r)
            multi(w.n_cols, w.Row(r), act + t0 * act_bytes, act_bytes, static_cast<int>(t1 - t0),
                  y + t0 * w.n_rows + r, w.n_rows);
          continue;
        }
        for (int64_t t = t0; t < t1; ++t) {
          const uint8_t* a = act + t * act_bytes;
          float* yt = y + t * w.n_rows;
          for (int64_t r = r0; r < r1; ++r) yt[r] = dot(w.n_cols, w.Row(r), a);
        }
      }
    }
  });
}

void MatMulShared(const kernels::Kernels& k, ThreadPool& pool, std::span<const MatMulOut> outs,
                  const float* x, int64_t n_tokens, MatMulScratch* scratch) {
  if (outs.empty()) return;
  const kernels::PackedGemm* first = PackedOf(k, *outs[0].w);
  bool fused = outs.size() > 1 && first != nullptr && DecodePath(*first, n_tokens);
  for (const MatMulOut& o : outs) {
    const kernels::PackedGemm* pg = PackedOf(k, *o.w);
    fused = fused && pg != nullptr && pg->act == first->act && DecodePath(*pg, n_tokens) &&
            o.w->n_cols == outs[0].w->n_cols;
  }
  if (!fused) {
    for (const MatMulOut& o : outs) MatMul(k, pool, *o.w, x, n_tokens, o.y, scratch);
    return;
  }
  // The row groups of all matrices as one range: matrix i owns [begin[i], begin[i + 1]).
  std::vector<int64_t> begin(outs.size() + 1, 0);
  for (size_t i = 0; i < outs.size(); ++i)
    begin[i + 1] = begin[i] + outs[i].w->n_rows / kernels::kPackedRows;
  const uint8_t* act = DecodeActivations(k, pool, *first, x, n_tokens, outs[0].w->n_cols, scratch);
  pool.ParallelForGuided(begin.back(), kGroupBatch, [&](int64_t g0, int64_t g1, int) {
    for (size_t i = 0; i < outs.size(); ++i) {
      const int64_t lo = std::max(g0, begin[i]);
      const int64_t hi = std::min(g1, begin[i + 1]);
      if (lo >= hi) continue;
      const MatrixView& w = *outs[i].w;
      DecodeGroups(k.packed[static_cast<int>(w.dtype)], w, act, n_tokens, outs[i].y, lo - begin[i],
                   hi - begin[i]);
    }
  });
}

}  // namespace seekd
