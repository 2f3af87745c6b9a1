// Builds for CPUs other than x86-64 have only the scalar table (NEON comes later).
#include "core/kernels/kernels.h"
#include "core/kernels/packed.h"

namespace seekd::kernels {

const Kernels* Avx2Kernels() { return nullptr; }
const Kernels* Avx512Kernels() { return nullptr; }
PackedGemm PackedGemmFor(DType, bool) { return {}; }
bool AmxUsable() { return false; }
void AddPackedGemm(Kernels*) {}
uint64_t SpinAmx(int64_t) { return 0; }
PackedGemm PackedBF16Gemm(bool) { return {}; }
bool Bf16Usable() { return false; }
bool Bf16DotChosen() { return false; }
uint64_t SpinBf16(int64_t) { return 0; }

}  // namespace seekd::kernels
