// Block formats against llama.cpp's own ggml library (the prebuilt libggml-base.so that
// tests/reference installs from npm): our dequantizers must give the same floats bit-for-bit,
// our legacy quantizers the same bytes. Without the library these tests are skipped.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/fp16.h"
#include "core/quant.h"

namespace seekd {
namespace {

using DequantFn = void (*)(const void*, float*, int64_t);
using QuantFn = void (*)(const float*, void*, int64_t);

void* GgmlLibrary() {
  static void* handle = [] {
    const char* dir = std::getenv("SEEKD_GGML_REF_DIR");
    std::string path = std::string(dir ? dir : SEEKD_GGML_REF_DIR_DEFAULT) + "/libggml-base.so";
    return dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  }();
  return handle;
}

template <typename Fn>
Fn Symbol(const std::string& name) {
  void* lib = GgmlLibrary();
  return lib ? reinterpret_cast<Fn>(dlsym(lib, name.c_str())) : nullptr;
}

std::string GgmlSuffix(DType t) {
  std::string s(DTypeName(t));
  return s;  // ggml's names: q4_0 … q6_K
}

const DType kQuantTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0,
                             DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K};

// Random blocks with sane fp16 scales (random bytes elsewhere: every bit pattern is valid).
std::vector<uint8_t> RandomBlocks(DType t, int n_blocks, std::mt19937& rng) {
  const auto& tr = Traits(t);
  std::vector<uint8_t> bytes(static_cast<size_t>(tr.block_bytes) * n_blocks);
  std::uniform_int_distribution<int> byte(0, 255);
  for (auto& b : bytes) b = static_cast<uint8_t>(byte(rng));
  std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
  auto put = [&](size_t off) {
    const uint16_t h = F32ToF16(scale(rng));
    std::memcpy(&bytes[off], &h, 2);
  };
  for (int i = 0; i < n_blocks; ++i) {
    const size_t base = static_cast<size_t>(tr.block_bytes) * i;
    switch (t) {
      case DType::kQ4_1:
      case DType::kQ5_1:
        put(base);
        put(base + 2);
        break;
      case DType::kQ4_K:
      case DType::kQ5_K:
        put(base);
        put(base + 2);
        break;
      case DType::kQ2_K:
        put(base + 80);
        put(base + 82);
        break;
      case DType::kQ3_K:
        put(base + 108);
        break;
      case DType::kQ6_K:
        put(base + 208);
        break;
      default:
        put(base);
        break;
    }
  }
  return bytes;
}

TEST(QuantReferenceTest, DequantizeMatchesGgmlBitForBit) {
  if (!GgmlLibrary()) GTEST_SKIP() << "llama.cpp reference library not installed (scripts/setup)";
  std::mt19937 rng(1234);
  for (DType t : kQuantTypes) {
    auto ref = Symbol<DequantFn>("dequantize_row_" + GgmlSuffix(t));
    ASSERT_NE(ref, nullptr) << DTypeName(t);
    const int n_blocks = 37;
    const int64_t n = Traits(t).block_size * n_blocks;
    auto blocks = RandomBlocks(t, n_blocks, rng);
    std::vector<float> ours(n), theirs(n);
    ASSERT_TRUE(Dequantize(t, blocks.data(), ours.data(), n).ok());
    ref(blocks.data(), theirs.data(), n);
    for (int64_t i = 0; i < n; ++i)
      ASSERT_EQ(BitsFromF32(ours[i]), BitsFromF32(theirs[i]))
          << DTypeName(t) << " element " << i << ": " << ours[i] << " vs " << theirs[i];
  }
}

std::vector<float> RandomFloats(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> dist(0.0f, 0.02f);
  std::vector<float> x(n);
  for (auto& v : x) v = dist(rng);
  x[3] = 0.11f;  // an outlier, as real weights have
  return x;
}

TEST(QuantReferenceTest, LegacyQuantizersMatchGgmlBytes) {
  if (!GgmlLibrary()) GTEST_SKIP() << "llama.cpp reference library not installed (scripts/setup)";
  std::mt19937 rng(99);
  for (DType t : {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0}) {
    auto ref = Symbol<QuantFn>("quantize_row_" + GgmlSuffix(t) + "_ref");
    ASSERT_NE(ref, nullptr) << DTypeName(t);
    const int64_t n = 32 * 64;
    auto x = RandomFloats(n, rng);
    std::vector<uint8_t> ours(Traits(t).block_bytes * 64), theirs(ours.size());
    ASSERT_TRUE(Quantize(t, x.data(), ours.data(), n).ok());
    ref(x.data(), theirs.data(), n);
    EXPECT_EQ(ours, theirs) << DTypeName(t);
  }
}

// Relative RMS error of quantize → dequantize: bounded by the format's bits. ggml's own
// quantizers (which search scales) are the comparison: ours must be within 1.5× of theirs.
TEST(QuantTest, RoundTripErrorIsBoundedForEveryType) {
  std::mt19937 rng(7);
  const int64_t n = 256 * 16;
  auto x = RandomFloats(n, rng);
  double norm = 0;
  for (float v : x) norm += double(v) * v;
  for (DType t : kQuantTypes) {
    std::vector<uint8_t> q(Traits(t).block_bytes * (n / Traits(t).block_size));
    std::vector<float> y(n);
    ASSERT_TRUE(Quantize(t, x.data(), q.data(), n).ok());
    ASSERT_TRUE(Dequantize(t, q.data(), y.data(), n).ok());
    double err = 0;
    for (int64_t i = 0; i < n; ++i) err += double(x[i] - y[i]) * (x[i] - y[i]);
    const double rel = std::sqrt(err / norm);
    double theirs_rel = -1;
    if (auto ref = Symbol<QuantFn>("quantize_row_" + GgmlSuffix(t) + "_ref")) {
      auto deq = Symbol<DequantFn>("dequantize_row_" + GgmlSuffix(t));
      std::vector<float> y2(n);
      ref(x.data(), q.data(), n);
      deq(q.data(), y2.data(), n);
      double e2 = 0;
      for (int64_t i = 0; i < n; ++i) e2 += double(x[i] - y2[i]) * (x[i] - y2[i]);
      theirs_rel = std::sqrt(e2 / norm);
      EXPECT_LE(rel, 1.5 * theirs_rel + 1e-6) << DTypeName(t);
    }
    // Loose absolute ceilings by bit width, so the test means something without the reference.
    const double ceiling = t == DType::kQ2_K ? 0.6 : t == DType::kQ3_K ? 0.3 : 0.15;
    EXPECT_LT(rel, ceiling) << DTypeName(t) << " (ggml: " << theirs_rel << ")";
  }
}

TEST(DTypeTest, TraitsAndRowBytes) {
  EXPECT_EQ(DTypeName(DType::kQ4_K), "q4_K");
  EXPECT_EQ(DTypeFromName("Q4_K"), DType::kQ4_K);
  EXPECT_EQ(DTypeFromName("nope"), std::nullopt);
  EXPECT_FALSE(TraitsOf(5).has_value());  // ids 4 and 5 were removed from ggml
  EXPECT_EQ(*RowBytes(DType::kQ6_K, 4096), 4096u / 256 * 210);
  EXPECT_EQ(*RowBytes(DType::kF16, 3), 6u);
  EXPECT_FALSE(RowBytes(DType::kQ4_0, 33).ok());
  EXPECT_EQ(RowBytes(DType::kF32, uint64_t{1} << 63).status().code(), StatusCode::kOutOfRange);
  EXPECT_FALSE(CanDequantize(DType::kIQ2_XS));
  float out[1];
  EXPECT_EQ(Dequantize(DType::kIQ2_XS, nullptr, out, 0).code(), StatusCode::kUnsupported);
}

TEST(Fp16Test, ConversionsAreExactAndRoundToNearestEven) {
  // Every half → float → half is the identity (NaNs stay NaN).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const float f = F16ToF32(static_cast<uint16_t>(h));
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(F16ToF32(F32ToF16(f))));
      continue;
    }
    ASSERT_EQ(F32ToF16(f), h) << std::hex << h;
  }
  EXPECT_EQ(F32ToF16(1.0f), 0x3c00);
  EXPECT_EQ(F32ToF16(65520.0f), 0x7c00);            // rounds up to inf
  EXPECT_EQ(F32ToF16(1.0f + 1.0f / 2048), 0x3c00);  // tie → even
  EXPECT_EQ(F32ToF16(1.0f + 3.0f / 2048), 0x3c02);  // tie → even (up)
  EXPECT_EQ(F16ToF32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(Bf16ToF32(F32ToBf16(1.5f)), 1.5f);
  EXPECT_EQ(F32ToBf16(1.0f + std::ldexp(1.0f, -8)), 0x3f80);  // tie → even
}

}  // namespace
}  // namespace seekd
