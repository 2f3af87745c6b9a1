// The reference kernel table: plain loops, dequantize-then-multiply, double accumulation. Every
// SIMD table is tested against this one; it is also the fallback on CPUs without AVX2.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "core/kernels/kernels.h"
#include "core/quant.h"

namespace seekd::kernels {
namespace {

// Weight types whose rows are plain floats: dequantize in chunks, multiply by f32 activations.
template <DType T>
float DotFloat(int64_t n, const void* w, const void* x) {
  const auto* xf = static_cast<const float*>(x);
  const int64_t esize = Traits(T).block_bytes;
  float buf[256];
  double acc = 0;
  for (int64_t i = 0; i < n; i += 256) {
    const int64_t len = std::min<int64_t>(256, n - i);
    (void)Dequantize(T, static_cast<const uint8_t*>(w) + i * esize, buf, len);
    for (int64_t j = 0; j < len; ++j) acc += static_cast<double>(buf[j]) * xf[i + j];
  }
  return static_cast<float>(acc);
}

// Quantized blocks of kBlock elements against 8-bit activation blocks of the same length
// (BlockQ8A for legacy types, BlockQ8K for K-quants): dequantize each weight block, multiply by
// the activation quants, scale by the activation block's d.
template <DType T, typename Act, int kBlock>
float DotBlocks(int64_t n, const void* w, const void* x) {
  const auto* xa = static_cast<const Act*>(x);
  const auto* wb = static_cast<const uint8_t*>(w);
  const int64_t bytes = Traits(T).block_bytes;
  float buf[kBlock];
  double acc = 0;
  for (int64_t b = 0; b < n / kBlock; ++b) {
    (void)Dequantize(T, wb + b * bytes, buf, kBlock);
    double s = 0;
    for (int j = 0; j < kBlock; ++j) s += static_cast<double>(buf[j]) * xa[b].qs[j];
    acc += s * xa[b].d;
  }
  return static_cast<float>(acc);
}

template <DType T>
float DotLegacy(int64_t n, const void* w, const void* x) {
  return DotBlocks<T, BlockQ8A, 32>(n, w, x);
}

template <DType T>
float DotK(int64_t n, const void* w, const void* x) {
  return DotBlocks<T, BlockQ8K, 256>(n, w, x);
}

void QuantizeQ8A(const float* x, BlockQ8A* y, int64_t n) {
  for (int64_t b = 0; b < n / 32; ++b, x += 32) {
    float amax = 0;
    for (int j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
    int32_t sum = 0;
    for (int j = 0; j < 32; ++j) {
      const int q = static_cast<int>(std::nearbyint(x[j] * id));
      y[b].qs[j] = static_cast<int8_t>(q);
      sum += q;
    }
    y[b].d = d;
    y[b].sum = sum;
  }
}

void QuantizeQ8K(const float* x, BlockQ8K* y, int64_t n) {
  for (int64_t b = 0; b < n / 256; ++b, x += 256) {
    float amax = 0;
    for (int j = 0; j < 256; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
    for (int j = 0; j < 256; ++j) y[b].qs[j] = static_cast<int8_t>(std::nearbyint(x[j] * id));
    for (int g = 0; g < 16; ++g) {
      int s = 0;
      for (int j = 0; j < 16; ++j) s += y[b].qs[16 * g + j];
      y[b].bsums[g] = static_cast<int16_t>(s);
    }
    y[b].d = d;
  }
}

float DotF32(int64_t n, const float* a, const float* b) {
  double acc = 0;
  for (int64_t i = 0; i < n; ++i) acc += static_cast<double>(a[i]) * b[i];
  return static_cast<float>(acc);
}

void AxpyF32(int64_t n, float a, const float* x, float* y) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}

uint64_t SpinInt8(int64_t iters) {
  volatile uint32_t seed = 1;
  uint32_t acc[8] = {seed, seed, seed, seed, seed, seed, seed, seed};  // unsigned: wraps freely
  for (int64_t i = 0; i < iters; ++i)
    for (int j = 0; j < 8; ++j) acc[j] += (acc[j] & 0x7f) * 3;
  volatile uint32_t sink = acc[0] + acc[7];
  (void)sink;
  return static_cast<uint64_t>(iters) * 8;
}

uint64_t SpinF32(int64_t iters) {
  volatile float seed = 1.0f;
  float acc[8] = {seed, seed, seed, seed, seed, seed, seed, seed};
  for (int64_t i = 0; i < iters; ++i)
    for (float& a : acc) a = a * 0.999f + 0.001f;
  volatile float sink = acc[0] + acc[7];
  (void)sink;
  return static_cast<uint64_t>(iters) * 8;
}

uint64_t ReadStreams(const uint8_t* p, uint64_t n, int n_streams, ProbePrefetch prefetch) {
  const uint64_t part = n / static_cast<uint64_t>(n_streams);
  uint64_t acc[8] = {};
  for (uint64_t i = 0; i < part; i += 64)
    for (int s = 0; s < n_streams; ++s) {
      if (prefetch != ProbePrefetch::kNone && i + kProbePrefetch < part) {
        const uint8_t* line = p + static_cast<uint64_t>(s) * part + i + kProbePrefetch;
        if (prefetch == ProbePrefetch::kL2)
          __builtin_prefetch(line, 0, 2);
        else
          __builtin_prefetch(line, 0, 0);
      }
      for (int j = 0; j < 8; ++j) {
        uint64_t v;
        std::memcpy(&v, p + static_cast<uint64_t>(s) * part + i + 8 * j, 8);
        acc[j] ^= v;
      }
    }
  uint64_t out = 0;
  for (uint64_t a : acc) out += a;
  return out;
}

Kernels MakeScalar() {
  Kernels k;
  k.isa = Isa::kScalar;
  auto set = [&](DType t, VecDotFn f) { k.vec_dot[static_cast<int>(t)] = f; };
  set(DType::kF32, DotFloat<DType::kF32>);
  set(DType::kF16, DotFloat<DType::kF16>);
  set(DType::kBF16, DotFloat<DType::kBF16>);
  set(DType::kQ4_0, DotLegacy<DType::kQ4_0>);
  set(DType::kQ4_1, DotLegacy<DType::kQ4_1>);
  set(DType::kQ5_0, DotLegacy<DType::kQ5_0>);
  set(DType::kQ5_1, DotLegacy<DType::kQ5_1>);
  set(DType::kQ8_0, DotLegacy<DType::kQ8_0>);
  set(DType::kQ2_K, DotK<DType::kQ2_K>);
  set(DType::kQ3_K, DotK<DType::kQ3_K>);
  set(DType::kQ4_K, DotK<DType::kQ4_K>);
  set(DType::kQ5_K, DotK<DType::kQ5_K>);
  set(DType::kQ6_K, DotK<DType::kQ6_K>);
  k.quantize_q8a = QuantizeQ8A;
  k.quantize_q8k = QuantizeQ8K;
  k.dot_f32 = DotF32;
  k.axpy_f32 = AxpyF32;
  k.spin_int8 = SpinInt8;
  k.spin_f32 = SpinF32;
  k.read_streams = ReadStreams;
  return k;
}

}  // namespace

const Kernels& ScalarKernels() {
  static const Kernels k = MakeScalar();
  return k;
}

}  // namespace seekd::kernels
