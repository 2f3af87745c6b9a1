// Op consistency: every kernel × weight type × odd shape × every ISA this CPU has, against the
// scalar reference table; the scalar table and the matrix product against plain formulas.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/matmul.h"
#include "core/ops.h"
#include "core/quant.h"

namespace seekd {
namespace {

using kernels::ActFormat;
using kernels::BlockQ8A;
using kernels::BlockQ8K;
using kernels::Isa;

const DType kTypes[] = {DType::kF32,  DType::kF16,  DType::kBF16, DType::kQ4_0, DType::kQ4_1,
                        DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ2_K, DType::kQ3_K,
                        DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

std::vector<float> Random(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<uint8_t> QuantizeRow(DType t, const std::vector<float>& x) {
  std::vector<uint8_t> out(RowBytes(t, x.size()).value());
  EXPECT_TRUE(Quantize(t, x.data(), out.data(), static_cast<int64_t>(x.size())).ok());
  return out;
}

// Lengths with tails: several blocks plus odd counts for plain float rows.
std::vector<int64_t> Lengths(DType t) {
  const int64_t bs = Traits(t).block_size;
  if (bs == 1) return {1, 7, 15, 16, 17, 31, 33, 100, 255, 1000, 4099};
  return {bs, 2 * bs, 3 * bs, 7 * bs, 13 * bs};
}

std::string IsaList() {
  std::string s;
  for (Isa i : kernels::AvailableIsas()) s += std::string(kernels::IsaName(i)) + " ";
  return s;
}

TEST(Kernels, ScalarTableCoversEveryDequantizableWeightType) {
  for (DType t : kTypes) EXPECT_TRUE(kernels::HasVecDot(t)) << DTypeName(t);
  EXPECT_FALSE(kernels::HasVecDot(DType::kIQ2_XXS));
  RecordProperty("isas", IsaList());
}

TEST(Kernels, ActivationQuantizersRoundToNearestAndMatchAcrossIsas) {
  const auto x = Random(1024, 7, 3.0f);
  const auto& ref = kernels::ScalarKernels();
  std::vector<BlockQ8A> a_ref(32);
  std::vector<BlockQ8K> k_ref(4);
  ref.quantize_q8a(x.data(), a_ref.data(), 1024);
  ref.quantize_q8k(x.data(), k_ref.data(), 1024);
  for (int b = 0; b < 32; ++b) {
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      EXPECT_LE(std::fabs(x[32 * b + j] - a_ref[b].d * a_ref[b].qs[j]), a_ref[b].d * 0.5001f);
      sum += a_ref[b].qs[j];
    }
    EXPECT_EQ(sum, a_ref[b].sum);
  }
  for (int b = 0; b < 4; ++b)
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) sum += k_ref[b].qs[16 * g + j];
      EXPECT_EQ(sum, k_ref[b].bsums[g]);
    }
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    std::vector<BlockQ8A> a(32);
    std::vector<BlockQ8K> q(4);
    k.quantize_q8a(x.data(), a.data(), 1024);
    k.quantize_q8k(x.data(), q.data(), 1024);
    EXPECT_EQ(0, std::memcmp(a.data(), a_ref.data(), a.size() * sizeof(BlockQ8A)))
        << kernels::IsaName(isa);
    EXPECT_EQ(0, std::memcmp(q.data(), k_ref.data(), q.size() * sizeof(BlockQ8K)))
        << kernels::IsaName(isa);
  }
}

// The scalar table equals Σ dequantized weight × dequantized activation, in double.
TEST(Kernels, ScalarDotIsTheDequantizedProduct) {
  const auto& k = kernels::ScalarKernels();
  for (DType t : kTypes) {
    for (int64_t n : Lengths(t)) {
      const auto w = Random(n, 11, 0.5f), x = Random(n, 12);
      const auto wq = QuantizeRow(t, w);
      std::vector<uint8_t> act(static_cast<size_t>(kernels::ActRowBytes(t, n)));
      kernels::QuantizeActivations(k, t, x.data(), n, act.data());
      std::vector<float> wd(static_cast<size_t>(n)), xd(static_cast<size_t>(n));
      ASSERT_TRUE(Dequantize(t, wq.data(), wd.data(), n).ok());
      for (int64_t i = 0; i < n; ++i) {
        switch (kernels::ActFormatOf(t)) {
          case ActFormat::kF32:
          case ActFormat::kBF16:  // a packed GEMM's format; vec_dot never takes it
            xd[i] = x[i];
            break;
          case ActFormat::kQ8A: {
            const auto& b = reinterpret_cast<const BlockQ8A*>(act.data())[i / 32];
            xd[i] = b.d * b.qs[i % 32];
            break;
          }
          case ActFormat::kQ8K: {
            const auto& b = reinterpret_cast<const BlockQ8K*>(act.data())[i / 256];
            xd[i] = b.d * b.qs[i % 256];
            break;
          }
        }
      }
      double want = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        want += static_cast<double>(wd[i]) * xd[i];
        mag += std::fabs(static_cast<double>(wd[i]) * xd[i]);
      }
      const float got = k.vec_dot[static_cast<int>(t)](n, wq.data(), act.data());
      EXPECT_NEAR(got, want, 1e-6 * mag + 1e-6) << DTypeName(t) << " n=" << n;
    }
  }
}

// Every SIMD table against the scalar one on the same quantized inputs. Both compute the same
// integer sums; only float accumulation order differs, hence a relative bound of 1e-5 of the
// magnitude Σ|w·x|.
TEST(Kernels, EveryIsaMatchesScalarForEveryTypeAndShape) {
  const auto& ref = kernels::ScalarKernels();
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    ASSERT_EQ(k.isa, isa);
    for (DType t : kTypes) {
      for (int64_t n : Lengths(t)) {
        for (uint32_t seed = 1; seed <= 3; ++seed) {
          const auto w = Random(n, 100 + seed, 0.5f), x = Random(n, 200 + seed, 2.0f);
          const auto wq = QuantizeRow(t, w);
          // Each table converts the activations its own way (a layout may differ; the values
          // may not) and dots its own conversion.
          std::vector<uint8_t> act(static_cast<size_t>(kernels::ActRowBytes(t, n))),
              act_k(act.size());
          kernels::QuantizeActivations(ref, t, x.data(), n, act.data());
          kernels::QuantizeActivations(k, t, x.data(), n, act_k.data());
          std::vector<float> wd(static_cast<size_t>(n));
          ASSERT_TRUE(Dequantize(t, wq.data(), wd.data(), n).ok());
          double mag = 0;
          for (int64_t i = 0; i < n; ++i) mag += std::fabs(wd[i] * x[i]);
          const float want = ref.vec_dot[static_cast<int>(t)](n, wq.data(), act.data());
          const float got = k.vec_dot[static_cast<int>(t)](n, wq.data(), act_k.data());
          EXPECT_NEAR(got, want, 1e-5 * mag + 1e-6)
              << kernels::IsaName(isa) << " " << DTypeName(t) << " n=" << n;
        }
      }
    }
    for (int64_t n : {1, 5, 16, 17, 33, 127, 1000}) {
      const auto a = Random(n, 1), b = Random(n, 2);
      double want = 0, mag = 0;
      for (int64_t i = 0; i < n; ++i) {
        want += static_cast<double>(a[i]) * b[i];
        mag += std::fabs(a[i] * b[i]);
      }
      EXPECT_NEAR(k.dot_f32(n, a.data(), b.data()), want, 1e-5 * mag) << kernels::IsaName(isa);
      std::vector<float> y = b;
      k.axpy_f32(n, 0.75f, a.data(), y.data());
      for (int64_t i = 0; i < n; ++i)  // FMA rounds once: a one-ulp difference is allowed
        EXPECT_NEAR(y[i], b[i] + 0.75f * a[i], 1e-6 * (std::fabs(b[i]) + std::fabs(a[i])));
    }
  }
}

// A multi-token kernel gives each token exactly the bits the one-token kernel gives (batch
// invariance of the whole engine rests on it).
TEST(Kernels, MultiTokenKernelsAreBitIdenticalToOneTokenKernels) {
  int covered = 0;
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    for (DType t : kTypes) {
      const auto multi = k.vec_dot_multi[static_cast<int>(t)];
      if (multi == nullptr) continue;
      ++covered;
      for (int64_t n : Lengths(t))
        // A full group of four and a partial one; past the AVX2 kernels' 64-token chunk.
        for (const int n_tok : {7, 70}) {
          const auto wq = QuantizeRow(t, Random(n, 3, 0.5f));
          const int64_t stride = kernels::ActRowBytes(t, n);
          std::vector<uint8_t> acts(static_cast<size_t>(stride * n_tok));
          for (int i = 0; i < n_tok; ++i) {
            const auto x = Random(n, 50 + static_cast<uint32_t>(i), 2.0f);
            kernels::QuantizeActivations(k, t, x.data(), n, acts.data() + i * stride);
          }
          std::vector<float> out(static_cast<size_t>(n_tok * 3), -1.0f);
          multi(n, wq.data(), acts.data(), stride, n_tok, out.data(), 3);
          for (int i = 0; i < n_tok; ++i)
            EXPECT_EQ(out[static_cast<size_t>(i * 3)],
                      k.vec_dot[static_cast<int>(t)](n, wq.data(), acts.data() + i * stride))
                << kernels::IsaName(isa) << " " << DTypeName(t) << " n=" << n << " token " << i;
        }
    }
  }
  RecordProperty("multi_token_kernels", covered);
}

// MatMul (tiles, threads, many tokens) equals the per-row reference product on the same
// quantized activations, for every ISA; and the reference MatVec on f32 activations within the
// activation-quantization bound.
TEST(Kernels, MatMulMatchesRowByRowProductAcrossThreadsAndTiles) {
  ThreadPool pool(2);
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    for (DType t : {DType::kF16, DType::kQ4_0, DType::kQ8_0, DType::kQ4_K, DType::kQ6_K}) {
      const int64_t n_cols = 512, n_rows = 37;
      for (int64_t n_tokens : {1, 3, 70}) {
        const auto w = Random(n_cols * n_rows, 5, 0.3f);
        std::vector<uint8_t> wq(RowBytes(t, n_cols).value() * n_rows);
        ASSERT_TRUE(Quantize(t, w.data(), wq.data(), n_cols * n_rows).ok());
        const MatrixView mv{t, wq.data(), n_cols, n_rows, RowBytes(t, n_cols).value()};
        const auto x = Random(n_cols * n_tokens, 6);
        std::vector<float> y(static_cast<size_t>(n_rows * n_tokens));
        MatMulScratch scratch;
        MatMul(k, pool, mv, x.data(), n_tokens, y.data(), &scratch);
        for (int64_t tok = 0; tok < n_tokens; ++tok) {
          std::vector<float> ref(static_cast<size_t>(n_rows));
          ASSERT_TRUE(ops::MatVec(t, {wq.data(), wq.size()}, n_rows, n_cols,
                                  x.data() + tok * n_cols, ref.data())
                          .ok());
          for (int64_t r = 0; r < n_rows; ++r) {
            // Activation rounding: each element moves by at most half a step, |x|max/254.
            double bound = 0;
            std::vector<float> wd(static_cast<size_t>(n_cols));
            ASSERT_TRUE(Dequantize(t, mv.Row(r), wd.data(), n_cols).ok());
            float xmax = 0;
            for (int64_t c = 0; c < n_cols; ++c)
              xmax = std::max(xmax, std::fabs(x[tok * n_cols + c]));
            for (int64_t c = 0; c < n_cols; ++c) bound += std::fabs(wd[c]) * xmax / 254.0;
            EXPECT_NEAR(y[tok * n_rows + r], ref[r], bound + 1e-4)
                << kernels::IsaName(isa) << " " << DTypeName(t) << " tokens=" << n_tokens;
          }
        }
      }
    }
  }
}

// SwiGLU's elementwise part on every table that has its own: the formula in double, over
// ordinary values, a tail (333 is not a multiple of 16), zero and saturating inputs, in place.
TEST(Kernels, SiluMulMatchesTheFormulaOnEveryIsa) {
  auto g = Random(333, 4, 3.0f), u = Random(333, 5);
  g[0] = 0.0f;
  g[1] = 100.0f;
  g[2] = -100.0f;
  g[3] = -88.5f;
  g[4] = 90.0f;
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    if (k.silu_mul == nullptr) continue;
    auto y = g;  // in place over gate, as the forward pass calls it
    k.silu_mul(y.data(), u.data(), 333, y.data());
    for (size_t i = 0; i < g.size(); ++i) {
      const double want = double(g[i]) / (1 + std::exp(-double(g[i]))) * u[i];
      // The polynomial exp is within 2e-7; a division and two products add a few ulps.
      EXPECT_NEAR(y[i], want, 1e-6 * std::max(1.0, std::fabs(want)))
          << kernels::IsaName(isa) << " at " << i << " gate " << g[i];
    }
  }
}

// The bandwidth probe reads every byte in each of its patterns: streams and prefetching change
// the order, not the checksum, and a flipped bit in the last line of any stream shows.
TEST(Kernels, ReadStreamsReadsEveryByteInEveryPattern) {
  const uint64_t n = 64 * 8 * 40;  // 40 lines a stream at 8 streams; prefetch runs past no end
  std::unique_ptr<uint8_t, void (*)(void*)> mem(static_cast<uint8_t*>(std::aligned_alloc(64, n)),
                                                std::free);
  uint8_t* buf = mem.get();
  std::mt19937 rng(7);
  for (uint64_t i = 0; i < n; ++i) buf[i] = static_cast<uint8_t>(rng());
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    const uint64_t want = k.read_streams(buf, n, 1, kernels::ProbePrefetch::kNone);
    for (int streams : {1, 4, 8})
      for (kernels::ProbePrefetch prefetch :
           {kernels::ProbePrefetch::kNone, kernels::ProbePrefetch::kL2,
            kernels::ProbePrefetch::kNonTemporal}) {
        EXPECT_EQ(k.read_streams(buf, n, streams, prefetch), want)
            << kernels::IsaName(isa) << " streams " << streams << " prefetch "
            << static_cast<int>(prefetch);
        const uint64_t last = n / streams - 1;  // stream 0's last byte
        buf[last] ^= 0x10;
        EXPECT_NE(k.read_streams(buf, n, streams, prefetch), want)
            << kernels::IsaName(isa) << " streams " << streams << " prefetch "
            << static_cast<int>(prefetch);
        buf[last] ^= 0x10;
      }
  }
}

}  // namespace
}  // namespace seekd
