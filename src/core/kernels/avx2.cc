// The AVX2 + FMA + F16C table (x86_kernels.inc compiled for that instruction set).
#include "core/kernels/x86_kernels.inc"

namespace seekd::kernels {

const Kernels* Avx2Kernels() {
  static const Kernels k = MakeTable(Isa::kAvx2);
  return &k;
}

}  // namespace seekd::kernels
