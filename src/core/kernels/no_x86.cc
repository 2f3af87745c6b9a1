// Builds for CPUs other than x86-64 have only the scalar table (NEON comes later).
#include "core/kernels/kernels.h"

namespace seekd::kernels {

const Kernels* Avx2Kernels() { return nullptr; }
const Kernels* Avx512Kernels() { return nullptr; }

}  // namespace seekd::kernels
