// Block-quantized weight formats (ggml's layouts, as GGUF files store them): dequantize to f32
// and quantize from f32. Facts: docs/design/model-files.md and model-formats.md §3.
//
// All functions are pure and thread-safe. n must be a multiple of the type's block size; callers
// that take n from a file check it first (RowBytes), so here it is an invariant.
#pragma once

#include <cstdint>

#include "core/dtype.h"
#include "core/status.h"

namespace seekd {

constexpr int kQK = 32;    // elements per legacy block (Q4_0 … Q8_0)
constexpr int kQKK = 256;  // elements per K-quant super-block

#pragma pack(push, 1)
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[kQK / 2];
};
struct BlockQ4_1 {
  uint16_t d, m;
  uint8_t qs[kQK / 2];
};
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[kQK / 2];
};
struct BlockQ8_0 {
  uint16_t d;
  int8_t qs[kQK];
};
struct BlockQ2_K {
  uint8_t scales[kQKK / 16];
  uint8_t qs[kQKK / 4];
  uint16_t d, dmin;
};
struct BlockQ3_K {
  uint8_t hmask[kQKK / 8];
  uint8_t qs[kQKK / 4];
  uint8_t scales[12];
  uint16_t d;
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qs[kQKK / 2];
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[kQKK / 8];
  uint8_t qs[kQKK / 2];
};
struct BlockQ6_K {
  uint8_t ql[kQKK / 2];
  uint8_t qh[kQKK / 4];
  int8_t scales[kQKK / 16];
  uint16_t d;
};
#pragma pack(pop)

static_assert(sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_1) == 20 && sizeof(BlockQ5_0) == 22);
static_assert(sizeof(BlockQ5_1) == 24 && sizeof(BlockQ8_0) == 34 && sizeof(BlockQ2_K) == 84);
static_assert(sizeof(BlockQ3_K) == 110 && sizeof(BlockQ4_K) == 144 && sizeof(BlockQ5_K) == 176);
static_assert(sizeof(BlockQ6_K) == 210);

// Six-bit scale and min of sub-block j (0..7) from a Q4_K / Q5_K block's 12 scale bytes.
void ScaleMinK4(int j, const uint8_t* scales, uint8_t* sc, uint8_t* mn);

// Whether Dequantize / Quantize handle the type.
bool CanDequantize(DType t);
bool CanQuantize(DType t);

// src holds n/block_size blocks of type t; dst receives n floats. Unsupported type → error.
Status Dequantize(DType t, const void* src, float* dst, int64_t n);

// Reference quantizers. For Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 the bytes equal ggml's reference
// quantizer's (a test checks). The K types use a simpler per-sub-block min/max search: valid
// blocks that dequantize within the format's error, not the same bytes as ggml's search.
Status Quantize(DType t, const float* src, void* dst, int64_t n);

}  // namespace seekd
