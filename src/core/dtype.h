// Element types of weight tensors: ggml's numbering (it is what GGUF files store), traits per
// type, and row-size arithmetic that refuses to overflow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/status.h"

namespace seekd {

enum class DType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct DTypeTraits {
  DType type;
  std::string_view name;  // as ggml names it: "q4_K", "f16", ...
  int64_t block_size;     // elements per block (1 for plain types)
  int64_t block_bytes;    // bytes per block
  bool quantized;
  bool dequantize;  // seekd can turn it into f32
};

// Traits of a known type id, or nullopt for an id no known file uses.
std::optional<DTypeTraits> TraitsOf(uint32_t id);
const DTypeTraits& Traits(DType t);  // t must be a known enumerator
inline std::string_view DTypeName(DType t) { return Traits(t).name; }
std::optional<DType> DTypeFromName(std::string_view name);  // case-insensitive: "Q4_K", "bf16"

// Bytes of a row of n elements; error if n is not a multiple of the block size or on overflow.
Result<uint64_t> RowBytes(DType t, uint64_t n);

// a*b and a+b with overflow detection (for untrusted sizes).
inline bool MulOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_mul_overflow(a, b, out);
}
inline bool AddOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  return __builtin_add_overflow(a, b, out);
}

}  // namespace seekd
