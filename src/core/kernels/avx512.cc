// The AVX-512 (F, BW, VL, DQ, VNNI) table: x86_kernels.inc with vpdpbusd byte dots and 512-bit
// float loops.
#include "core/kernels/x86_kernels.inc"

namespace seekd::kernels {

const Kernels* Avx512Kernels() {
  static const Kernels k = MakeTable(Isa::kAvx512);
  return &k;
}

}  // namespace seekd::kernels
