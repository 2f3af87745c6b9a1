// The AVX-512 (F, BW, VL, DQ, VNNI) table: x86_kernels.inc with vpdpbusd byte dots and 512-bit
// float loops.
#include "core/kernels/x86_kernels.inc"

#include "core/kernels/packed.h"

namespace seekd::kernels {

void AttendF32Avx512(const AttnTile& tile);  // f32_avx512.cc
void SiluMulAvx512(const float* gate, const float* up, int64_t n, float* y);

const Kernels* Avx512Kernels() {
  static const Kernels k = [] {
    Kernels t = MakeTable(Isa::kAvx512);
    AddPackedGemm(&t);  // Q8_0 and Q4_0 through the packed int8 GEMM (core/kernels/packed.h)
    t.attend_f32 = AttendF32Avx512;
    t.attend_int8 = true;
    t.silu_mul = SiluMulAvx512;
    return t;
  }();
  return &k;
}

}  // namespace seekd::kernels
