// The AVX2 + FMA + F16C table (x86_kernels.inc compiled for that instruction set), with the
// packed int8 and f16/bf16 GEMMs (packed_int8_avx2.cc, packed_float_avx2.cc), the attention tile
// and SiLU·up (f32_avx2.cc).
#include "core/kernels/x86_kernels.inc"

#include "core/kernels/packed.h"

namespace seekd::kernels {

void AttendF32Avx2(const AttnTile& tile);  // f32_avx2.cc
void SiluMulAvx2(const float* gate, const float* up, int64_t n, float* y);

const Kernels* Avx2Kernels() {
  static const Kernels k = [] {
    Kernels t = MakeTable(Isa::kAvx2);
    for (DType d : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K})
      t.packed[static_cast<int>(d)] = PackedGemmAvx2(d);
    for (DType d : {DType::kF16, DType::kBF16})
      t.packed[static_cast<int>(d)] = PackedFloatGemmAvx2(d);
    t.attend_f32 = AttendF32Avx2;
    t.attend_int8 = true;
    t.silu_mul = SiluMulAvx2;
    return t;
  }();
  return &k;
}

}  // namespace seekd::kernels
