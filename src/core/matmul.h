// Matrix × vector and matrix × matrix over block-quantized weights, split across the compute
// pool. Decode (one token) reads each weight row once; prefill (many tokens) walks weight rows
// in tiles and applies each tile to every token before moving on, so a weight matrix crosses
// the memory bus once per call, not once per token.
//
// Thread-safety: a MatMul call uses the pool; call from one thread at a time (the engine loop).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/dtype.h"
#include "core/kernels/kernels.h"
#include "core/thread_pool.h"

namespace seekd {

// A weight matrix as ggml stores it: n_rows rows (ne1) of n_cols elements (ne0), contiguous.
struct MatrixView {
  DType dtype = DType::kF32;
  const uint8_t* data = nullptr;
  int64_t n_cols = 0;  // ne0: the dot-product length
  int64_t n_rows = 0;  // ne1: outputs
  uint64_t row_bytes = 0;
  // The same matrix repacked for the active table's PackedGemm (model loader), or null.
  const uint8_t* packed = nullptr;

  const uint8_t* Row(int64_t r) const { return data + static_cast<uint64_t>(r) * row_bytes; }
};

// Reusable per-caller buffers, grown on demand and never shrunk.
struct MatMulScratch {
  std::vector<uint8_t> act;    // activations in the weight's format, one row per token
  std::vector<uint8_t> panel;  // the packed GEMM's activation tiles
};

// y[t · n_rows + r] = Σ_c W[r][c] · x[t · n_cols + c] for t < n_tokens.
// W's dtype must have a kernel (kernels::HasVecDot) and n_cols a multiple of its block size.
// A matrix with `packed` set goes through the table's PackedGemm when it has one for the type.
void MatMul(const kernels::Kernels& k, ThreadPool& pool, const MatrixView& w, const float* x,
            int64_t n_tokens, float* y, MatMulScratch* scratch);

// One output of MatMulShared: y = W · x, laid out as MatMul's.
struct MatMulOut {
  const MatrixView* w;
  float* y;
};

// Several matrices over the same input x (n_cols equal): the same results, bit for bit, as one
// MatMul per entry. Where every matrix is packed and decodes (gemv, gemv_multi) from the same
// activation format, x is quantized once and the matrices' row groups form one dynamic range
// over the pool: one hand-off in place of one per matrix, and the small ones (K, V) no longer
// leave a thread idle at their end. Otherwise the entries run one after another.
void MatMulShared(const kernels::Kernels& k, ThreadPool& pool, std::span<const MatMulOut> outs,
                  const float* x, int64_t n_tokens, MatMulScratch* scratch);

}  // namespace seekd
