// Software prefetches for the x86 kernels, as asm statements: GCC 12's dead-code elimination
// dropped whole loops of __builtin_prefetch / _mm_prefetch (their results are unused), so the
// kernels that prefetch in loops use these instead. Plain C, no wide registers: any x86 file may
// include it.
#pragma once

namespace seekd::kernels {

// Into L1 (prefetcht0).
inline void PrefetchL1(const void* p) {
  __asm__ volatile("prefetcht0 %0" : : "m"(*static_cast<const char*>(p)));
}
// Into L2 (prefetcht1): what the decode kernels use, since into L1 ran slower
// (docs/BENCHMARKS.md, "Decode prefetch into L2").
inline void PrefetchL2(const void* p) {
  __asm__ volatile("prefetcht1 %0" : : "m"(*static_cast<const char*>(p)));
}

// A non-temporal prefetch (prefetchnta) for data read once: the packed decode kernels' weight
// streams.
inline void PrefetchStream(const void* p) {
  __asm__ volatile("prefetchnta %0" : : "m"(*static_cast<const char*>(p)));
}

}  // namespace seekd::kernels
