// Choosing a kernel table: CPU features at start-up, overridable with SEEKD_ISA.
#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "core/kernels/kernels.h"
#include "core/ops.h"
#include "core/status.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace seekd::kernels {

std::string_view IsaName(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

std::optional<Isa> IsaFromName(std::string_view name) {
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512})
    if (IsaName(i) == name) return i;
  return std::nullopt;
}

namespace {

#if defined(__x86_64__)
// CPUID and XGETBV directly (compiler-independent, and it checks that the OS saves the wide
// register state, not only that the CPU has the instructions).
struct X86Features {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false, vnni = false;
};

X86Features ReadX86Features() {
  X86Features f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!osxsave || !avx) return f;
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  const bool ymm_state = (lo & 0x6) == 0x6, zmm_state = (lo & 0xe6) == 0xe6;
  f.fma = ymm_state && ((c >> 12) & 1);
  f.f16c = ymm_state && ((c >> 29) & 1);
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return f;
  f.avx2 = ymm_state && ((b >> 5) & 1);
  f.avx512f = zmm_state && ((b >> 16) & 1);
  f.avx512dq = zmm_state && ((b >> 17) & 1);
  f.avx512bw = zmm_state && ((b >> 30) & 1);
  f.avx512vl = zmm_state && ((b >> 31) & 1);
  f.vnni = zmm_state && ((c >> 11) & 1);
  return f;
}
#endif

bool CpuHas(Isa isa) {
#if defined(__x86_64__)
  static const X86Features f = ReadX86Features();
  switch (isa) {
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return f.avx2 && f.fma && f.f16c;
    case Isa::kAvx512:
      return f.avx2 && f.fma && f.f16c && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq &&
             f.vnni;
  }
  return false;
#else
  return isa == Isa::kScalar;
#endif
}

const Kernels* TableOf(Isa isa) {
  switch (isa) {
    case Isa::kScalar:
      return &ScalarKernels();
    case Isa::kAvx2:
      return Avx2Kernels();
    case Isa::kAvx512:
      return Avx512Kernels();
  }
  return nullptr;
}

const Kernels& Choose() {
  const std::vector<Isa> isas = AvailableIsas();
  const Isa best = isas.back();
  if (const char* env = std::getenv("SEEKD_ISA"); env != nullptr && *env != '\0') {
    const std::optional<Isa> want = IsaFromName(env);
    for (Isa i : isas)
      if (want && i == *want) return *TableOf(i);
    std::fprintf(stderr, "seekd: SEEKD_ISA=%s is not available here; using %s\n", env,
                 std::string(IsaName(best)).c_str());
  }
  return *TableOf(best);
}

}  // namespace

std::vector<Isa> AvailableIsas() {
  std::vector<Isa> out;
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512})
    // CPU first: building a table runs code compiled for its ISA (an AVX-512 table's set-up
    // is itself AVX-512 code, an illegal instruction on a CPU without it).
    if (CpuHas(i) && TableOf(i) != nullptr) out.push_back(i);
  return out;
}

const Kernels& KernelsFor(Isa isa) {
  const Kernels* k = CpuHas(isa) ? TableOf(isa) : nullptr;
  return k != nullptr ? *k : ScalarKernels();
}

const Kernels& Active() {
  static const Kernels& k = Choose();
  return k;
}

bool HasVecDot(DType t) { return ScalarKernels().vec_dot[static_cast<int>(t)] != nullptr; }

ActFormat ActFormatOf(DType t) {
  switch (t) {
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ8_0:
      return ActFormat::kQ8A;
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return ActFormat::kQ8K;
    default:
      return ActFormat::kF32;
  }
}

int64_t ActRowBytes(DType t, int64_t n) {
  switch (ActFormatOf(t)) {
    case ActFormat::kQ8A:
      return n / 32 * static_cast<int64_t>(sizeof(BlockQ8A));
    case ActFormat::kQ8K:
      return n / 256 * static_cast<int64_t>(sizeof(BlockQ8K));
    case ActFormat::kBF16:  // a packed GEMM's format only; vec_dot never takes it
      return n * 2;
    case ActFormat::kF32:
      break;
  }
  return n * static_cast<int64_t>(sizeof(float));
}

int64_t AttnDequantOffset(int64_t n_rows, int64_t max_vis, int64_t head_dim) {
  const int64_t rp = (n_rows + 15) / 16 * 16, lp = (max_vis + 15) / 16 * 16;
  return rp * (2 * head_dim + lp);  // Qt, S/P, then Ot or P·V's partial sums
}

int64_t AttnScratchFloats(int64_t n_rows, int64_t max_vis, int64_t head_dim) {
  return AttnDequantOffset(n_rows, max_vis, head_dim) + (kAttnKeyTile + kAttnValueBlock) * head_dim;
}

void Attend(const Kernels& k, const AttnTile& t) {
  SEEKD_CHECK(t.n_rows >= 1 && t.n_rows <= kAttnMaxRows);
  SEEKD_CHECK(t.k8 == nullptr || (k.attend_int8 && t.head_dim % 8 == 0));
  if (k.attend_f32 != nullptr && t.head_dim % 8 == 0) {
    k.attend_f32(t);
    return;
  }
  // Per row: scores with dot_f32, the reference softmax, then Σ p·v with axpy_f32.
  const int64_t hd = t.head_dim;
  float* scores = t.scratch;
  for (int64_t i = 0; i < t.n_rows; ++i) {
    const int64_t n = t.n_vis[i];
    int64_t j = 0;
    for (int64_t r = 0; r < t.n_runs && j < n; ++r)
      for (int64_t p = 0; p < t.run[r] && j < n; ++p, ++j)
        scores[j] = k.dot_f32(hd, t.q[i], t.k[r] + p * t.kv_stride) * t.scale;
    ops::Softmax(scores, n);
    float* out = t.out[i];
    std::fill(out, out + hd, 0.0f);
    j = 0;
    for (int64_t r = 0; r < t.n_runs && j < n; ++r)
      for (int64_t p = 0; p < t.run[r] && j < n; ++p, ++j)
        k.axpy_f32(hd, scores[j], t.v[r] + p * t.kv_stride, out);
  }
}

void QuantizeActivations(const Kernels& k, DType t, const float* x, int64_t n, void* dst) {
  if (auto* custom = k.quantize_act_for[static_cast<int>(t)]) {
    custom(x, dst, n);
    return;
  }
  switch (ActFormatOf(t)) {
    case ActFormat::kQ8A:
      k.quantize_q8a(x, static_cast<BlockQ8A*>(dst), n);
      return;
    case ActFormat::kQ8K:
      k.quantize_q8k(x, static_cast<BlockQ8K*>(dst), n);
      return;
    case ActFormat::kBF16:  // a packed GEMM's format only: PackedGemm::pack_panel writes it
    case ActFormat::kF32:
      std::copy(x, x + n, static_cast<float*>(dst));
      return;
  }
}

}  // namespace seekd::kernels
