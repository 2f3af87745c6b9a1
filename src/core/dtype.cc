#include "core/dtype.h"

#include <array>
#include <cctype>
#include <string>

namespace seekd {
namespace {

// Block geometry as ggml defines it (model-formats.md §3). Types seekd cannot dequantize are
// still listed so a file naming them gets "unsupported type iq2_xs", not "corrupt".
constexpr std::array<DTypeTraits, 32> kTraits = {{
    {DType::kF32, "f32", 1, 4, false, true},
    {DType::kF16, "f16", 1, 2, false, true},
    {DType::kQ4_0, "q4_0", 32, 18, true, true},
    {DType::kQ4_1, "q4_1", 32, 20, true, true},
    {DType::kQ5_0, "q5_0", 32, 22, true, true},
    {DType::kQ5_1, "q5_1", 32, 24, true, true},
    {DType::kQ8_0, "q8_0", 32, 34, true, true},
    {DType::kQ8_1, "q8_1", 32, 36, true, false},
    {DType::kQ2_K, "q2_K", 256, 84, true, true},
    {DType::kQ3_K, "q3_K", 256, 110, true, true},
    {DType::kQ4_K, "q4_K", 256, 144, true, true},
    {DType::kQ5_K, "q5_K", 256, 176, true, true},
    {DType::kQ6_K, "q6_K", 256, 210, true, true},
    {DType::kQ8_K, "q8_K", 256, 292, true, false},
    {DType::kIQ2_XXS, "iq2_xxs", 256, 66, true, false},
    {DType::kIQ2_XS, "iq2_xs", 256, 74, true, false},
    {DType::kIQ3_XXS, "iq3_xxs", 256, 98, true, false},
    {DType::kIQ1_S, "iq1_s", 256, 50, true, false},
    {DType::kIQ4_NL, "iq4_nl", 32, 18, true, false},
    {DType::kIQ3_S, "iq3_s", 256, 110, true, false},
    {DType::kIQ2_S, "iq2_s", 256, 82, true, false},
    {DType::kIQ4_XS, "iq4_xs", 256, 136, true, false},
    {DType::kI8, "i8", 1, 1, false, false},
    {DType::kI16, "i16", 1, 2, false, false},
    {DType::kI32, "i32", 1, 4, false, false},
    {DType::kI64, "i64", 1, 8, false, false},
    {DType::kF64, "f64", 1, 8, false, false},
    {DType::kIQ1_M, "iq1_m", 256, 56, true, false},
    {DType::kBF16, "bf16", 1, 2, false, true},
    {DType::kTQ1_0, "tq1_0", 256, 54, true, false},
    {DType::kTQ2_0, "tq2_0", 256, 66, true, false},
    {DType::kMXFP4, "mxfp4", 32, 17, true, false},
}};

}  // namespace

std::optional<DTypeTraits> TraitsOf(uint32_t id) {
  for (const auto& t : kTraits)
    if (static_cast<uint32_t>(t.type) == id) return t;
  return std::nullopt;
}

const DTypeTraits& Traits(DType type) {
  for (const auto& t : kTraits)
    if (t.type == type) return t;
  CheckFailed(__FILE__, __LINE__, "known DType", "enumerator missing from kTraits");
}

std::optional<DType> DTypeFromName(std::string_view name) {
  for (const auto& t : kTraits) {
    if (t.name.size() != name.size()) continue;
    bool eq = true;
    for (size_t i = 0; i < name.size() && eq; ++i)
      eq = std::tolower(static_cast<unsigned char>(t.name[i])) ==
           std::tolower(static_cast<unsigned char>(name[i]));
    if (eq) return t.type;
  }
  return std::nullopt;
}

Result<uint64_t> RowBytes(DType t, uint64_t n) {
  const DTypeTraits& tr = Traits(t);
  const uint64_t bs = static_cast<uint64_t>(tr.block_size);
  if (n % bs != 0)
    return InvalidArgument(std::to_string(n) + " elements is not a multiple of the " +
                           std::string(tr.name) + " block size " + std::to_string(bs));
  uint64_t bytes = 0;
  if (MulOverflows(n / bs, static_cast<uint64_t>(tr.block_bytes), &bytes))
    return OutOfRange("row of " + std::to_string(n) + " " + std::string(tr.name) +
                      " elements overflows 64 bits");
  return bytes;
}

}  // namespace seekd
