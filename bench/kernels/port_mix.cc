// What the int8 kernels' other instructions cost next to vpdpbusd on this core: a loop of twelve
// independent register-only vpdpbusd chains (the rate bench-model calls the int8 peak), and the
// same loop with three more instructions of one kind, or with its activation operands loaded.
// Prints TSC ticks per loop turn and the ratio to the bare loop, per vpdpbusd: an instruction
// that shares vpdpbusd's pipes adds about 3/12 = 0.25, one that runs on other pipes about
// nothing. Two more variants issue 16 vpdpbusd over 8 or 16 chains: with 8, each chain's
// latency leaves the pipes idle part of the time (the prefill microkernels run 16,
// docs/BENCHMARKS.md, "Sixteen chains per prefill tile; decode prefetch spread over the work").
//
// Two more add four vector loads to the loop whose twelve vpdpbusd each broadcast from memory:
// they cost as much as four more vpdpbusd, because vector loads, like vpdpbusd, issue two a
// cycle; and vpermd variants price a broadcast done by a shuffle instead (docs/BENCHMARKS.md,
// "Vector loads: the other half of the int8 kernels' bound").
//
// It sizes the decode-batch and prefill kernels' bounds (docs/BENCHMARKS.md, "What a vpdpbusd
// costs alongside it"): each vpmulld, vpdpwssd, vmulps or vfmadd that a kernel issues per
// vpdpbusd takes a vpdpbusd's slot. The broadcast variants ran level with the bare loop on a
// quiet machine and 1.1-1.25x slower during a noisy hour: run it twice, apart. Needs AVX-512
// VNNI; not run by the tests.
//
//   build/bench/kernels/port_mix [rounds]
#include <x86intrin.h>

#include <cstdio>
#include <cstdlib>

namespace {

alignas(64) int g_buf[1024];

// One vpdpbusd into accumulator r: register operands, or a {1to16} broadcast from the buffer.
// clang-format off
#define SEEKD_DP(r) "vpdpbusd %%zmm14, %%zmm15, %%zmm" #r "\n"
#define SEEKD_DPB(r, off) "vpdpbusd " #off "(%0)%{1to16%}, %%zmm15, %%zmm" #r "\n"
#define SEEKD_BC(r, off) "vpbroadcastd " #off "(%0), %%zmm" #r "\n"
#define SEEKD_DPR(acc, a, w) "vpdpbusd %%zmm" #a ", %%zmm" #w ", %%zmm" #acc "\n"
#define SEEKD_TWELVE \
  SEEKD_DP(0) SEEKD_DP(1) SEEKD_DP(2) SEEKD_DP(3) SEEKD_DP(4) SEEKD_DP(5) \
  SEEKD_DP(6) SEEKD_DP(7) SEEKD_DP(8) SEEKD_DP(9) SEEKD_DP(10) SEEKD_DP(11)
#define SEEKD_EIGHT_TWICE \
  SEEKD_DP(0) SEEKD_DP(1) SEEKD_DP(2) SEEKD_DP(3) SEEKD_DP(4) SEEKD_DP(5) SEEKD_DP(6) SEEKD_DP(7) \
  SEEKD_DP(0) SEEKD_DP(1) SEEKD_DP(2) SEEKD_DP(3) SEEKD_DP(4) SEEKD_DP(5) SEEKD_DP(6) SEEKD_DP(7)
#define SEEKD_SIXTEEN SEEKD_TWELVE SEEKD_DP(19) SEEKD_DP(20) SEEKD_DP(21) SEEKD_DP(22)
#define SEEKD_THREE(op) \
  op " %%zmm14, %%zmm15, %%zmm16\n" op " %%zmm14, %%zmm15, %%zmm17\n" \
  op " %%zmm14, %%zmm15, %%zmm18\n"
// clang-format on

enum Variant {
  kBare,
  kMulld,
  kDpwssd,
  kFma,
  kMulps,
  kMaddwd,
  kAdd,
  kCvt,
  kAndShift,
  kBcastEach,
  kBcastRegEach,
  kBcastRegHalf,
  kChains8,
  kChains16,
  kBcastEachPlus4,
  kBcastEachPlus4Zmm,
  kPermd,
  kPermd6,
  kVariants
};

const char* const kNames[kVariants] = {
    "12 vpdpbusd (registers)",
    "+3 vpmulld",
    "+3 vpdpwssd",
    "+3 vfmadd231ps",
    "+3 vmulps",
    "+3 vpmaddwd",
    "+3 vpaddd",
    "+3 vcvtdq2ps",
    "+3 vpandd/vpsrlw",
    "12 with a {1to16} operand each",
    "12 with 12 vpbroadcastd",
    "12 with 6 vpbroadcastd (each used twice)",
    "16 vpdpbusd over 8 chains",
    "16 vpdpbusd over 16 chains",
    "12 with a {1to16} operand, +4 vpbroadcastd",
    "12 with a {1to16} operand, +4 zmm loads",
    "+3 vpermd",
    "+6 vpermd",
};
// vpdpbusd per loop turn of each variant.
constexpr int kDots[kVariants] = {12, 12, 12, 12, 12, 12, 12, 12, 12,
                                  12, 12, 12, 16, 16, 12, 12, 12, 12};

template <Variant V>
double TicksPerTurn(long turns) {
  const int* p = g_buf;
  const unsigned long long t0 = __rdtsc();
  for (long i = 0; i < turns; ++i) {
    if constexpr (V == kBare) __asm__ volatile(SEEKD_TWELVE ::"r"(p) : "memory");
    if constexpr (V == kMulld)
      __asm__ volatile(SEEKD_TWELVE SEEKD_THREE("vpmulld")::"r"(p) : "memory");
    if constexpr (V == kDpwssd)
      __asm__ volatile(SEEKD_TWELVE SEEKD_THREE("vpdpwssd")::"r"(p) : "memory");
    if constexpr (V == kFma)
      __asm__ volatile(SEEKD_TWELVE SEEKD_THREE("vfmadd231ps")::"r"(p) : "memory");
    if constexpr (V == kMulps)
      __asm__ volatile(SEEKD_TWELVE SEEKD_THREE("vmulps")::"r"(p) : "memory");
    if constexpr (V == kMaddwd)
      __asm__ volatile(SEEKD_TWELVE SEEKD_THREE("vpmaddwd")::"r"(p) : "memory");
    if constexpr (V == kAdd)
      __asm__ volatile(SEEKD_TWELVE SEEKD_THREE("vpaddd")::"r"(p) : "memory");
    if constexpr (V == kCvt)
      __asm__ volatile(SEEKD_TWELVE
                       "vcvtdq2ps %%zmm14, %%zmm16\n vcvtdq2ps %%zmm14, %%zmm17\n"
                       "vcvtdq2ps %%zmm15, %%zmm18\n" ::"r"(p)
                       : "memory");
    if constexpr (V == kAndShift)
      __asm__ volatile(SEEKD_TWELVE
                       "vpandd %%zmm14, %%zmm15, %%zmm16\n vpsrlw $4, %%zmm14, %%zmm17\n"
                       "vpandd %%zmm15, %%zmm14, %%zmm18\n" ::"r"(p)
                       : "memory");
    if constexpr (V == kBcastEach)
      __asm__ volatile(SEEKD_DPB(0, 0) SEEKD_DPB(1, 4) SEEKD_DPB(2, 8) SEEKD_DPB(3, 12)
                           SEEKD_DPB(4, 16) SEEKD_DPB(5, 20) SEEKD_DPB(6, 24) SEEKD_DPB(7, 28)
                               SEEKD_DPB(8, 32) SEEKD_DPB(9, 36) SEEKD_DPB(10, 40)
                                   SEEKD_DPB(11, 44)::"r"(p)
                       : "memory");
    if constexpr (V == kBcastRegEach)
      __asm__ volatile(
          SEEKD_BC(16, 0) SEEKD_BC(17, 4) SEEKD_BC(18, 8) SEEKD_BC(19, 12) SEEKD_BC(20, 16)
              SEEKD_BC(21, 20) SEEKD_BC(22, 24) SEEKD_BC(23, 28) SEEKD_BC(24, 32) SEEKD_BC(25, 36)
                  SEEKD_BC(26, 40) SEEKD_BC(27, 44) SEEKD_DPR(0, 16, 14) SEEKD_DPR(1, 17, 15)
                      SEEKD_DPR(2, 18, 14) SEEKD_DPR(3, 19, 15) SEEKD_DPR(4, 20, 14) SEEKD_DPR(
                          5, 21, 15) SEEKD_DPR(6, 22, 14) SEEKD_DPR(7, 23, 15) SEEKD_DPR(8, 24, 14)
                          SEEKD_DPR(9, 25, 15) SEEKD_DPR(10, 26, 14) SEEKD_DPR(11, 27, 15)::"r"(p)
          : "memory");
    if constexpr (V == kBcastRegHalf)
      __asm__ volatile(
          SEEKD_BC(16, 0) SEEKD_BC(17, 4) SEEKD_BC(18, 8) SEEKD_BC(19, 12) SEEKD_BC(20, 16)
              SEEKD_BC(21, 20) SEEKD_DPR(0, 16, 14) SEEKD_DPR(1, 16, 15) SEEKD_DPR(2, 17, 14)
                  SEEKD_DPR(3, 17, 15) SEEKD_DPR(4, 18, 14) SEEKD_DPR(5, 18, 15)
                      SEEKD_DPR(6, 19, 14) SEEKD_DPR(7, 19, 15) SEEKD_DPR(8, 20, 14)
                          SEEKD_DPR(9, 20, 15) SEEKD_DPR(10, 21, 14) SEEKD_DPR(11, 21, 15)::"r"(p)
          : "memory");
    if constexpr (V == kBcastEachPlus4)
      __asm__ volatile(SEEKD_DPB(0, 0) SEEKD_DPB(1, 4) SEEKD_DPB(2, 8) SEEKD_DPB(3, 12)
                           SEEKD_DPB(4, 16) SEEKD_DPB(5, 20) SEEKD_DPB(6, 24) SEEKD_DPB(7, 28)
                               SEEKD_DPB(8, 32) SEEKD_DPB(9, 36) SEEKD_DPB(10, 40) SEEKD_DPB(11, 44)
                                   SEEKD_BC(16, 48) SEEKD_BC(17, 52) SEEKD_BC(18, 56)
                                       SEEKD_BC(19, 60)::"r"(p)
                       : "memory");
    if constexpr (V == kBcastEachPlus4Zmm)
      __asm__ volatile(SEEKD_DPB(0, 0) SEEKD_DPB(1, 4) SEEKD_DPB(2, 8) SEEKD_DPB(3, 12)
                           SEEKD_DPB(4, 16) SEEKD_DPB(5, 20) SEEKD_DPB(6, 24) SEEKD_DPB(7, 28)
                               SEEKD_DPB(8, 32) SEEKD_DPB(9, 36) SEEKD_DPB(10, 40)
                                   SEEKD_DPB(11, 44) "vmovdqa64 64(%0), %%zmm16\n"
                       "vmovdqa64 128(%0), %%zmm17\n vmovdqa64 192(%0), %%zmm18\n"
                       "vmovdqa64 256(%0), %%zmm19\n" ::"r"(p)
                       : "memory");
    if constexpr (V == kPermd)
      __asm__ volatile(SEEKD_TWELVE SEEKD_THREE("vpermd")::"r"(p) : "memory");
    if constexpr (V == kPermd6)
      __asm__ volatile(SEEKD_TWELVE SEEKD_THREE("vpermd")
                           "vpermd %%zmm14, %%zmm15, %%zmm19\n vpermd %%zmm14, %%zmm15, %%zmm20\n"
                           "vpermd %%zmm14, %%zmm15, %%zmm21\n" ::"r"(p)
                       : "memory");
    if constexpr (V == kChains8) __asm__ volatile(SEEKD_EIGHT_TWICE ::"r"(p) : "memory");
    if constexpr (V == kChains16) __asm__ volatile(SEEKD_SIXTEEN ::"r"(p) : "memory");
  }
  return static_cast<double>(__rdtsc() - t0) / static_cast<double>(turns);
}

using Runner = double (*)(long);
constexpr Runner kRunners[kVariants] = {
    TicksPerTurn<kBare>,
    TicksPerTurn<kMulld>,
    TicksPerTurn<kDpwssd>,
    TicksPerTurn<kFma>,
    TicksPerTurn<kMulps>,
    TicksPerTurn<kMaddwd>,
    TicksPerTurn<kAdd>,
    TicksPerTurn<kCvt>,
    TicksPerTurn<kAndShift>,
    TicksPerTurn<kBcastEach>,
    TicksPerTurn<kBcastRegEach>,
    TicksPerTurn<kBcastRegHalf>,
    TicksPerTurn<kChains8>,
    TicksPerTurn<kChains16>,
    TicksPerTurn<kBcastEachPlus4>,
    TicksPerTurn<kBcastEachPlus4Zmm>,
    TicksPerTurn<kPermd>,
    TicksPerTurn<kPermd6>,
};

}  // namespace

int main(int argc, char** argv) {
  if (!__builtin_cpu_supports("avx512vnni")) {
    std::fprintf(stderr, "port_mix: this CPU has no AVX-512 VNNI\n");
    return 1;
  }
  int rounds = 3;
  if (argc > 1) {
    char* end = nullptr;
    const long n = std::strtol(argv[1], &end, 10);
    if (end == argv[1] || *end != '\0' || n < 1 || n > 1000) {
      std::fprintf(stderr, "port_mix: rounds must be a number from 1 to 1000, not '%s'\n", argv[1]);
      return 2;
    }
    rounds = static_cast<int>(n);
  }
  constexpr long kTurns = 20'000'000;
  for (int r = 0; r < rounds; ++r) {
    // Each round measures the bare loop right before each variant: the ratio compares two runs
    // a few milliseconds apart, which this machine's drift leaves alone.
    std::printf("round %d\n", r + 1);
    for (int v = 0; v < kVariants; ++v) {
      const double base = kRunners[kBare](kTurns);
      const double t = kRunners[v](kTurns);
      std::printf("  %-44s %6.2f ticks/turn  x%.3f\n", kNames[v], t,
                  t / kDots[v] / (base / kDots[kBare]));
    }
  }
  return 0;
}
