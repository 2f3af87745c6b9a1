// The scalar reference ops against direct double-precision formulas and their mathematical
// properties (rotation composition, norm preservation, probabilities summing to one).
#include "core/ops.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <random>

#include "core/quant.h"

namespace seekd::ops {
namespace {

std::vector<float> Random(int64_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

TEST(OpsTest, RmsNormMatchesTheFormula) {
  for (int64_t n : {1, 7, 64, 4097}) {
    auto x = Random(n, 1), w = Random(n, 2);
    std::vector<float> y(x.size());
    RmsNorm(x.data(), w.data(), n, 1e-6f, y.data());
    double ms = 0;
    for (float v : x) ms += double(v) * v;
    ms /= double(n);
    for (int64_t i = 0; i < n; ++i) {
      const double want = double(w[i]) * x[i] / std::sqrt(ms + 1e-6);
      EXPECT_NEAR(y[i], want, 1e-5 * std::max(1.0, std::fabs(want))) << n << " " << i;
    }
  }
  std::vector<float> zeros(8, 0.0f), ones(8, 1.0f), out(8);
  RmsNorm(zeros.data(), ones.data(), 8, 1e-5f, out.data());  // eps keeps it finite
  for (float v : out) EXPECT_EQ(v, 0.0f);
}

TEST(OpsTest, SoftmaxIsStableAndNormalized) {
  std::vector<float> x = {1000.0f, 1001.0f, 999.0f, -1e30f};
  Softmax(x.data(), 4);
  const double e0 = std::exp(-1.0), e2 = std::exp(-2.0), sum = e0 + 1 + e2;
  EXPECT_NEAR(x[0], e0 / sum, 1e-6);
  EXPECT_NEAR(x[1], 1 / sum, 1e-6);
  EXPECT_NEAR(x[2], e2 / sum, 1e-6);
  EXPECT_EQ(x[3], 0.0f);
  auto r = Random(1000, 3, 5.0f);
  Softmax(r.data(), 1000);
  double total = 0;
  for (float v : r) total += v;
  EXPECT_NEAR(total, 1.0, 1e-5);
}

TEST(OpsTest, SiluMulMatchesTheFormula) {
  auto g = Random(333, 4, 3.0f), u = Random(333, 5);
  std::vector<float> y(g.size());
  SiluMul(g.data(), u.data(), 333, y.data());
  for (size_t i = 0; i < g.size(); ++i) {
    const double want = double(g[i]) / (1 + std::exp(-double(g[i]))) * u[i];
    EXPECT_NEAR(y[i], want, 1e-6 * std::max(1.0, std::fabs(want)));
  }
}

// NORM against complex multiplication by e^{i·pos·ω_k}, computed in double.
TEST(OpsTest, RopeNormIsComplexRotation) {
  const int64_t n_head = 3, head_dim = 16;
  RopeParams p;
  p.n_rot = 12;  // the last 4 dims of each head pass through
  p.theta = 10000.0;
  auto x = Random(n_head * head_dim, 6);
  auto y = x;
  Rope(y.data(), n_head, head_dim, 37, p);
  for (int64_t h = 0; h < n_head; ++h)
    for (int64_t k = 0; k < head_dim / 2; ++k) {
      const float* a = x.data() + h * head_dim;
      const float* b = y.data() + h * head_dim;
      if (2 * k >= p.n_rot) {
        EXPECT_EQ(b[2 * k], a[2 * k]);
        EXPECT_EQ(b[2 * k + 1], a[2 * k + 1]);
        continue;
      }
      const double w = std::pow(10000.0, -2.0 * double(k) / double(p.n_rot));
      const std::complex<double> z =
          std::complex<double>(a[2 * k], a[2 * k + 1]) * std::polar(1.0, 37 * w);
      EXPECT_NEAR(b[2 * k], z.real(), 1e-5);
      EXPECT_NEAR(b[2 * k + 1], z.imag(), 1e-5);
    }
}

// NEOX pairs x[i] with x[i + n_rot/2]: the same rotation applied to a de-interleaved vector.
TEST(OpsTest, RopeNeoxEqualsNormOnDeinterleavedPairs) {
  const int64_t head_dim = 8;
  RopeParams norm, neox;
  norm.n_rot = neox.n_rot = 8;
  neox.layout = RopeLayout::kNeox;
  auto x = Random(head_dim, 7);
  std::vector<float> inter(8);  // (x0, x4, x1, x5, x2, x6, x3, x7)
  for (int i = 0; i < 4; ++i) inter[2 * i] = x[i], inter[2 * i + 1] = x[i + 4];
  auto a = x;
  Rope(a.data(), 1, head_dim, 5, neox);
  Rope(inter.data(), 1, head_dim, 5, norm);
  for (int i = 0; i < 4; ++i) {
    EXPECT_FLOAT_EQ(a[i], inter[2 * i]);
    EXPECT_FLOAT_EQ(a[i + 4], inter[2 * i + 1]);
  }
}

TEST(OpsTest, RopeComposesPreservesNormsAndScalesPositions) {
  RopeParams p;
  p.n_rot = 64;
  p.layout = RopeLayout::kNeox;
  auto x = Random(64, 8);
  auto once = x, twice = x, zero = x;
  Rope(once.data(), 1, 64, 30, p);
  Rope(twice.data(), 1, 64, 10, p);
  Rope(twice.data(), 1, 64, 20, p);
  Rope(zero.data(), 1, 64, 0, p);
  double n0 = 0, n1 = 0;
  for (int i = 0; i < 64; ++i) {
    EXPECT_NEAR(once[i], twice[i], 1e-5);
    EXPECT_EQ(zero[i], x[i]);
    n0 += double(x[i]) * x[i];
    n1 += double(once[i]) * once[i];
  }
  EXPECT_NEAR(n0, n1, 1e-4);
  RopeParams linear = p;  // linear scaling ×4: position 40 behaves like position 10
  linear.freq_scale = 0.25;
  auto scaled = x, plain = x;
  Rope(scaled.data(), 1, 64, 40, linear);
  Rope(plain.data(), 1, 64, 10, p);
  for (int i = 0; i < 64; ++i) EXPECT_NEAR(scaled[i], plain[i], 1e-5);
}

TEST(OpsTest, MatVecMatchesDequantizedDotForEveryType) {
  const int64_t rows = 5, cols = 512;
  auto w = Random(rows * cols, 9, 0.05f);
  auto x = Random(cols, 10);
  for (DType t : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                  DType::kQ5_0, DType::kQ5_1, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K,
                  DType::kQ5_K, DType::kQ6_K}) {
    const uint64_t row_bytes = *RowBytes(t, cols);
    std::vector<uint8_t> q(row_bytes * rows);
    ASSERT_TRUE(Quantize(t, w.data(), q.data(), rows * cols).ok());
    std::vector<float> deq(rows * cols), y(rows);
    ASSERT_TRUE(Dequantize(t, q.data(), deq.data(), rows * cols).ok());
    ASSERT_TRUE(MatVec(t, q, rows, cols, x.data(), y.data()).ok()) << DTypeName(t);
    for (int64_t r = 0; r < rows; ++r) {
      double want = 0;
      for (int64_t c = 0; c < cols; ++c) want += double(deq[r * cols + c]) * x[c];
      EXPECT_NEAR(y[r], want, 1e-5 * std::max(1.0, std::fabs(want)))
          << DTypeName(t) << " row " << r;
    }
  }
}

TEST(OpsTest, MatVecRejectsBadShapes) {
  std::vector<uint8_t> small(10);
  float x[64] = {}, y[2];
  EXPECT_EQ(MatVec(DType::kF32, small, 2, 64, x, y).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MatVec(DType::kQ4_0, small, 1, 33, x, y).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MatVec(DType::kIQ2_XS, small, 1, 256, x, y).code(), StatusCode::kUnsupported);
}

}  // namespace
}  // namespace seekd::ops
