// Scalar reference implementations of the forward-pass operations. They are the ground truth
// the per-ISA kernels (AVX2, AVX-512; issue 3) are tested against: plain loops, f32 storage,
// written to be read. Shapes are given per call; tensors are contiguous row-major
// ([rows][cols], the row is ggml's ne0).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <span>

#include "core/dtype.h"
#include "core/status.h"

namespace seekd::ops {

// y = w ⊙ x / sqrt(mean(x²) + eps), one row of n. x and y may alias.
void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* y);

// Numerically stable softmax over one row of n, in place.
void Softmax(float* x, int64_t n);

// SwiGLU's elementwise part: y = silu(gate) ⊙ up, silu(z) = z·σ(z). y may alias gate or up.
void SiluMul(const float* gate, const float* up, int64_t n, float* y);

enum class RopeLayout {
  kNorm,  // rotates pairs (x[2i], x[2i+1])          — llama, deepseek2 in GGUF
  kNeox,  // rotates pairs (x[i], x[i + n_rot / 2])  — qwen2
};

struct RopeParams {
  int64_t n_rot = 0;        // rotated dims per head (≤ head_dim, even); the rest pass through
  double theta = 10000.0;   // base
  double freq_scale = 1.0;  // linear scaling: positions are multiplied by this (1/factor)
  RopeLayout layout = RopeLayout::kNorm;
};

// Rotates every head of one token in place: x is [n_head][head_dim], at position pos.
// Angles: pos·freq_scale·theta^(−2i/n_rot) for i < n_rot/2.
void Rope(float* x, int64_t n_head, int64_t head_dim, int64_t pos, const RopeParams& p);

// y[r] = Σ_c W[r][c]·x[c] for a weight matrix of n_rows rows of n_cols elements stored in
// `dtype` (any type Dequantize handles). Reference path: dequantize each row to f32, dot in
// double. Error if the row length is not a multiple of the block size or bytes are short.
Status MatVec(DType dtype, std::span<const uint8_t> weight, int64_t n_rows, int64_t n_cols,
              const float* x, float* y);

}  // namespace seekd::ops
