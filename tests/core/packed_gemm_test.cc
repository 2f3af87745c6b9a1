// The packed int8 GEMM (core/kernels/packed.h) for Q8_0, Q4_0, Q4_K and Q6_K: decode (gemv) and
// prefill (gemm) give the same bits for every token, whatever the token count, tile or row split;
// the AMX prefill gives the VNNI bits; all of them match the scalar reference dot within a few
// roundings of the sum of |terms|; and MatMul takes the packed path when a matrix has one.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "core/kernels/kernels.h"
#include "core/kernels/packed.h"
#include "core/matmul.h"
#include "core/quant.h"

namespace seekd {
namespace {

using kernels::BlockQ8A;
using kernels::BlockQ8K;
using kernels::PackedGemm;

std::vector<float> Random(int64_t n, uint32_t seed, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, scale);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = dist(rng);
  return v;
}

struct Aligned {
  explicit Aligned(uint64_t n)
      : p(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64))) {}
  ~Aligned() { std::free(p); }
  uint8_t* p;
};

bool HaveAvx512() {
  for (auto isa : kernels::AvailableIsas())
    if (isa == kernels::Isa::kAvx512) return true;
  return false;
}

struct Case {
  DType t;
  int64_t n_rows, n_cols;
};

// Activations of n_tok rows in the standard format the packed GEMM of `pg` reads, and the
// value each element stands for (d · q).
struct Acts {
  std::vector<uint8_t> bytes;
  int64_t row_bytes = 0;
  std::vector<double> value;  // [n_tok, n_cols]
};
Acts Quantized(const PackedGemm& pg, const std::vector<float>& x, int64_t n_tok, int64_t n_cols) {
  const auto& ref = kernels::ScalarKernels();
  Acts a;
  const bool q8k = pg.act == kernels::ActFormat::kQ8K;
  a.row_bytes = q8k ? n_cols / 256 * static_cast<int64_t>(sizeof(BlockQ8K))
                    : n_cols / 32 * static_cast<int64_t>(sizeof(BlockQ8A));
  a.bytes.resize(static_cast<size_t>(a.row_bytes * n_tok));
  a.value.resize(static_cast<size_t>(n_tok * n_cols));
  for (int64_t t = 0; t < n_tok; ++t) {
    uint8_t* row = a.bytes.data() + t * a.row_bytes;
    if (q8k) {
      auto* b = reinterpret_cast<BlockQ8K*>(row);
      ref.quantize_q8k(x.data() + t * n_cols, b, n_cols);
      for (int64_t k = 0; k < n_cols; ++k)
        a.value[t * n_cols + k] = static_cast<double>(b[k / 256].d) * b[k / 256].qs[k % 256];
    } else {
      auto* b = reinterpret_cast<BlockQ8A*>(row);
      ref.quantize_q8a(x.data() + t * n_cols, b, n_cols);
      for (int64_t k = 0; k < n_cols; ++k)
        a.value[t * n_cols + k] = static_cast<double>(b[k / 32].d) * b[k / 32].qs[k % 32];
    }
  }
  return a;
}

bool HaveAvx2() {
  for (auto isa : kernels::AvailableIsas())
    if (isa == kernels::Isa::kAvx2) return true;
  return false;
}

// The AVX2 variant of a type's packed GEMM, checked against the VNNI one where both run: the
// same packed bytes and, for every entry point, the same bits.
void ExpectAvx2SameBits(const PackedGemm& vnni, DType t, const std::vector<uint8_t>& wq,
                        const uint8_t* packed, int64_t n_rows, int64_t n_cols, const Acts& act,
                        int64_t n_tok, const std::vector<float>& y, int* checked) {
  const PackedGemm avx2 = kernels::PackedGemmAvx2(t);
  if (avx2.gemm == nullptr || !HaveAvx2()) return;
  ASSERT_STREQ(avx2.layout, vnni.layout);
  const uint64_t bytes = avx2.bytes(n_rows, n_cols);
  ASSERT_EQ(bytes, vnni.bytes(n_rows, n_cols));
  Aligned mine(bytes);
  avx2.pack(wq.data(), n_rows, n_cols, mine.p);
  ASSERT_EQ(std::memcmp(mine.p, packed, bytes), 0) << DTypeName(t);
  const int64_t groups = n_rows / 16;
  Aligned panel(avx2.panel_bytes(n_tok, n_cols));
  avx2.pack_panel(act.bytes.data(), n_tok, n_cols, 0, (n_tok + 15) / 16, panel.p);
  std::vector<float> yp(y.size(), -7.0f);
  avx2.gemm(mine.p, n_rows, n_cols, panel.p, n_tok, yp.data(), 0, groups / 2);
  avx2.gemm(mine.p, n_rows, n_cols, panel.p, n_tok, yp.data(), groups / 2, groups);
  EXPECT_EQ(std::memcmp(yp.data(), y.data(), y.size() * sizeof(float)), 0)
      << "AVX2 prefill differs from VNNI: " << DTypeName(t) << " K=" << n_cols << " M=" << n_tok;
  if (n_tok <= kernels::kGemvMultiTokens) {
    std::vector<float> ym(y.size(), -7.0f);
    avx2.gemv_multi(mine.p, n_rows, n_cols, act.bytes.data(), n_tok, ym.data(), 0, groups);
    EXPECT_EQ(std::memcmp(ym.data(), y.data(), y.size() * sizeof(float)), 0)
        << "AVX2 decode batch differs from VNNI: " << DTypeName(t) << " K=" << n_cols
        << " M=" << n_tok;
  }
  for (int64_t tok = 0; tok < n_tok; ++tok) {
    std::vector<float> one(static_cast<size_t>(n_rows));
    avx2.gemv(mine.p, n_rows, n_cols, act.bytes.data() + tok * act.row_bytes, one.data(), 0,
              groups / 2);
    avx2.gemv(mine.p, n_rows, n_cols, act.bytes.data() + tok * act.row_bytes, one.data(),
              groups / 2, groups);
    EXPECT_EQ(std::memcmp(one.data(), y.data() + tok * n_rows, one.size() * sizeof(float)), 0)
        << "AVX2 decode differs from VNNI: " << DTypeName(t) << " K=" << n_cols << " M=" << n_tok
        << " token " << tok;
  }
  ++*checked;
}

// On an AVX2 machine without AVX-512 the AVX2 variant is the one under test.
PackedGemm PrimaryFor(DType t) {
  return HaveAvx512() ? kernels::PackedGemmFor(t, false) : kernels::PackedGemmAvx2(t);
}

TEST(PackedGemm, DecodeEqualsPrefillAndTheReference) {
  if (!HaveAvx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  const auto& ref = kernels::ScalarKernels();
  int checked = 0, multi_checked = 0, avx2_checked = 0;
  for (const Case c :
       {Case{DType::kQ8_0, 16, 32}, Case{DType::kQ8_0, 48, 1568}, Case{DType::kQ8_0, 256, 3072},
        Case{DType::kQ4_0, 16, 96}, Case{DType::kQ4_0, 48, 1568}, Case{DType::kQ4_0, 256, 3072},
        Case{DType::kQ4_K, 16, 256}, Case{DType::kQ4_K, 48, 1792}, Case{DType::kQ4_K, 64, 3072},
        Case{DType::kQ6_K, 16, 256}, Case{DType::kQ6_K, 48, 1792}, Case{DType::kQ6_K, 64, 3072}}) {
    const PackedGemm vnni = PrimaryFor(c.t);  // named for the usual case
    // (PackedGemmFor is AVX-512 code: the ASan build's zeroing of its result already is.)
    const PackedGemm amx = HaveAvx512() ? kernels::PackedGemmFor(c.t, true) : PackedGemm{};
    ASSERT_NE(vnni.gemm, nullptr) << DTypeName(c.t);
    const int64_t row_bytes = RowBytes(c.t, c.n_cols).value();
    std::vector<uint8_t> wq(static_cast<size_t>(row_bytes * c.n_rows));
    const auto w = Random(c.n_rows * c.n_cols, 7, 0.4f);
    ASSERT_TRUE(Quantize(c.t, w.data(), wq.data(), c.n_rows * c.n_cols).ok());
    Aligned packed(vnni.bytes(c.n_rows, c.n_cols));
    if (c.t == DType::kQ6_K) {  // the file's bytes, rearranged; 32 bytes of pad per superblock
      EXPECT_EQ(vnni.bytes(c.n_rows, c.n_cols),
                static_cast<uint64_t>(row_bytes * c.n_rows + c.n_cols / 256 * 32 * c.n_rows / 16));
    } else if (c.t != DType::kQ4_K) {
      // As large as the stored matrix, but for one zero block per group (its 16 rows' quants
      // and scales: a block pair's second) when K/32 is odd.
      const int64_t block16 = row_bytes / (c.n_cols / 32) * 16;
      EXPECT_EQ(vnni.bytes(c.n_rows, c.n_cols),
                static_cast<uint64_t>(row_bytes * c.n_rows +
                                      (c.n_cols / 32 % 2) * block16 * c.n_rows / 16));
    } else {  // scales and mins unpacked to bytes: 2368 bytes per 16 rows × 256 instead of 2304
      EXPECT_LE(vnni.bytes(c.n_rows, c.n_cols),
                static_cast<uint64_t>(row_bytes * c.n_rows) * 103 / 100 + 64);
    }
    vnni.pack(wq.data(), c.n_rows, c.n_cols, packed.p);
    const int64_t groups = c.n_rows / 16;
    for (int64_t n_tok : {1, 2, 5, 7, 10, 16, 17, 33, 70}) {
      const auto x = Random(n_tok * c.n_cols, 11 + static_cast<uint32_t>(n_tok), 2.0f);
      const Acts act = Quantized(vnni, x, n_tok, c.n_cols);
      Aligned panel(vnni.panel_bytes(n_tok, c.n_cols));
      vnni.pack_panel(act.bytes.data(), n_tok, c.n_cols, 0, (n_tok + 15) / 16, panel.p);
      std::vector<float> y(static_cast<size_t>(n_tok * c.n_rows), -7.0f);
      // Two row ranges, as two threads would split them.
      vnni.gemm(packed.p, c.n_rows, c.n_cols, panel.p, n_tok, y.data(), 0, groups / 2);
      vnni.gemm(packed.p, c.n_rows, c.n_cols, panel.p, n_tok, y.data(), groups / 2, groups);
      if (amx.gemm != nullptr) {
        std::vector<float> ya(y.size(), -7.0f);
        amx.gemm(packed.p, c.n_rows, c.n_cols, panel.p, n_tok, ya.data(), 0, groups);
        EXPECT_EQ(std::memcmp(ya.data(), y.data(), y.size() * sizeof(float)), 0)
            << "AMX differs from VNNI: " << DTypeName(c.t) << " K=" << c.n_cols << " M=" << n_tok;
      }
      if (HaveAvx512())
        ExpectAvx2SameBits(vnni, c.t, wq, packed.p, c.n_rows, c.n_cols, act, n_tok, y,
                           &avx2_checked);
      if (vnni.gemv_multi != nullptr && n_tok <= kernels::kGemvMultiTokens) {
        std::vector<float> ym(y.size(), -7.0f);
        vnni.gemv_multi(packed.p, c.n_rows, c.n_cols, act.bytes.data(), n_tok, ym.data(), 0,
                        groups / 2);
        vnni.gemv_multi(packed.p, c.n_rows, c.n_cols, act.bytes.data(), n_tok, ym.data(),
                        groups / 2, groups);
        EXPECT_EQ(std::memcmp(ym.data(), y.data(), y.size() * sizeof(float)), 0)
            << "decode batch differs from prefill: " << DTypeName(c.t) << " K=" << c.n_cols
            << " M=" << n_tok;
        ++multi_checked;
      }
      for (int64_t t = 0; t < n_tok; ++t) {
        const uint8_t* at = act.bytes.data() + t * act.row_bytes;
        std::vector<float> one(static_cast<size_t>(c.n_rows));
        vnni.gemv(packed.p, c.n_rows, c.n_cols, at, one.data(), 0, groups);
        ASSERT_EQ(std::memcmp(one.data(), y.data() + t * c.n_rows, one.size() * sizeof(float)), 0)
            << "decode differs from prefill: " << DTypeName(c.t) << " K=" << c.n_cols
            << " M=" << n_tok << " token " << t;
        for (int64_t r = 0; r < c.n_rows; ++r) {
          const float want =
              ref.vec_dot[static_cast<int>(c.t)](c.n_cols, wq.data() + r * row_bytes, at);
          // The rounding bound scales with Σ |w · a|.
          std::vector<float> wd(static_cast<size_t>(c.n_cols));
          ASSERT_TRUE(Dequantize(c.t, wq.data() + r * row_bytes, wd.data(), c.n_cols).ok());
          double mag = 0;
          for (int64_t k = 0; k < c.n_cols; ++k)
            mag += std::fabs(static_cast<double>(wd[k]) * act.value[t * c.n_cols + k]);
          EXPECT_NEAR(y[t * c.n_rows + r], want, 1e-5 * mag + 1e-7)
              << DTypeName(c.t) << " K=" << c.n_cols << " row " << r << " token " << t;
        }
        ++checked;
      }
    }
  }
  RecordProperty("amx", kernels::AmxUsable() ? "yes" : "no");
  EXPECT_GT(checked, 0);
  EXPECT_GE(multi_checked, 2 * 6 * 3);  // Q4_K and Q6_K: 1, 2, 5, 7, 10 and 16 tokens, three shapes
  if (HaveAvx512()) {
    EXPECT_EQ(avx2_checked, 4 * 3 * 9);  // four types × three shapes × nine token counts
  }
}

// MatMul over a matrix with a packed copy: the packed path for every token count, bit-identical
// per token between one call of many tokens and one call per token, and close to the stored
// layout's own kernels.
// The loader packs in slices of row groups and caches the result on disk by layout name
// (model/pack_cache.h): every packed type names its layout, and packing rows [r0, r1) writes
// exactly bytes [bytes(r0), bytes(r1)) of the whole matrix's packed copy.
TEST(PackedGemm, LayoutsAreNamedAndRowGroupsPackIndependently) {
  if (!HaveAvx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  for (DType t :
       {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kF16, DType::kBF16})
    for (int variant : {0, 1, 2}) {  // VNNI, AMX, AVX2
      if (variant < 2 && !HaveAvx512()) continue;
      const PackedGemm pg = variant < 2 ? kernels::PackedGemmFor(t, variant == 1)
                            : t == DType::kF16 || t == DType::kBF16
                                ? kernels::PackedFloatGemmAvx2(t)
                                : kernels::PackedGemmAvx2(t);
      if (pg.pack == nullptr) continue;
      ASSERT_NE(pg.layout, nullptr) << DTypeName(t);
      // An odd block count, so the groups' pads to 64 bytes are covered too.
      const bool k_quant = t == DType::kQ4_K || t == DType::kQ6_K;
      const int64_t n_rows = 80, n_cols = k_quant ? 768 : 800;
      const int64_t row_bytes = RowBytes(t, n_cols).value();
      std::vector<uint8_t> wq(static_cast<size_t>(row_bytes * n_rows));
      const auto w = Random(n_rows * n_cols, 11, 0.4f);
      ASSERT_TRUE(Quantize(t, w.data(), wq.data(), n_rows * n_cols).ok());
      const uint64_t total = pg.bytes(n_rows, n_cols);
      EXPECT_EQ(total, static_cast<uint64_t>(n_rows / 16) * pg.bytes(16, n_cols));
      std::vector<uint8_t> whole(total, 0xEE), parts(total, 0x11);
      pg.pack(wq.data(), n_rows, n_cols, whole.data());
      for (const auto& [r0, r1] : {std::pair<int64_t, int64_t>{0, 16}, {16, 64}, {64, 80}})
        pg.pack(wq.data() + r0 * row_bytes, r1 - r0, n_cols, parts.data() + pg.bytes(r0, n_cols));
      EXPECT_EQ(whole, parts) << pg.layout;
    }
}

TEST(PackedGemm, MatMulUsesThePackedCopy) {
  if (!HaveAvx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  ThreadPool pool(2);
  for (kernels::Isa isa : kernels::AvailableIsas())
    for (DType t :
         {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kF16, DType::kBF16}) {
      if (isa == kernels::Isa::kScalar) continue;
      const auto& k = kernels::KernelsFor(isa);
      const PackedGemm& pg = k.packed[static_cast<int>(t)];
      // bf16-rounded activations (vdpbf16ps) against the plain kernel's f32 ones: each input
      // moves by at most 2^-9 of itself, so the sum by at most 2^-9 · Σ|w·x| more.
      const bool bf16_acts = pg.act == kernels::ActFormat::kBF16;
      ASSERT_NE(pg.gemm, nullptr) << DTypeName(t);
      const int64_t n_cols = 512, n_rows = 80, row_bytes = RowBytes(t, n_cols).value();
      std::vector<uint8_t> wq(static_cast<size_t>(row_bytes * n_rows));
      const auto w = Random(n_rows * n_cols, 3, 0.3f);
      ASSERT_TRUE(Quantize(t, w.data(), wq.data(), n_rows * n_cols).ok());
      std::vector<float> wd(w.size());
      ASSERT_TRUE(Dequantize(t, wq.data(), wd.data(), n_rows * n_cols).ok());
      Aligned packed(pg.bytes(n_rows, n_cols));
      pg.pack(wq.data(), n_rows, n_cols, packed.p);
      MatrixView plain{t, wq.data(), n_cols, n_rows, static_cast<uint64_t>(row_bytes)};
      MatrixView fast = plain;
      fast.packed = packed.p;
      const int64_t n_tok = 37;
      const auto x = Random(n_tok * n_cols, 9, 1.5f);
      std::vector<float> y(static_cast<size_t>(n_tok * n_rows)), y_plain(y.size());
      MatMulScratch s1, s2;
      MatMul(k, pool, fast, x.data(), n_tok, y.data(), &s1);
      MatMul(k, pool, plain, x.data(), n_tok, y_plain.data(), &s2);
      for (int64_t tok = 0; tok < n_tok; ++tok) {
        std::vector<float> one(static_cast<size_t>(n_rows));
        MatMul(k, pool, fast, x.data() + tok * n_cols, 1, one.data(), &s1);
        ASSERT_EQ(std::memcmp(one.data(), y.data() + tok * n_rows, one.size() * sizeof(float)), 0)
            << DTypeName(t) << " token " << tok;
        for (int64_t r = 0; r < n_rows; ++r) {
          double mag = 0;
          if (bf16_acts)
            for (int64_t c = 0; c < n_cols; ++c)
              mag += std::fabs(static_cast<double>(wd[r * n_cols + c]) * x[tok * n_cols + c]);
          EXPECT_NEAR(y[tok * n_rows + r], y_plain[tok * n_rows + r],
                      1e-4 * (1 + std::fabs(y_plain[tok * n_rows + r])) + std::ldexp(mag, -9))
              << DTypeName(t) << " token " << tok << " row " << r;
        }
      }
      // A decode batch of 6 (gemv_multi where the type has one): the same bits as the 37.
      std::vector<float> six(static_cast<size_t>(6 * n_rows));
      MatMul(k, pool, fast, x.data(), 6, six.data(), &s1);
      EXPECT_EQ(std::memcmp(six.data(), y.data(), six.size() * sizeof(float)), 0) << DTypeName(t);
    }
}

// MatMulShared over matrices that share their input (Q/K/V, gate/up): the bits of one MatMul per
// matrix, whether the entries fuse (packed, one activation format, a decode token count) or run
// one by one (a prefill count, a non-packed or other-format entry among them).
TEST(PackedGemm, SharedInputMatMulsGiveTheSeparateBits) {
  ThreadPool pool(2);
  for (kernels::Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    const int64_t n_cols = 512;
    struct Mat {
      std::vector<uint8_t> wq;
      std::unique_ptr<Aligned> packed;
      MatrixView view;
    };
    auto make = [&](DType t, int64_t n_rows, uint32_t seed, bool pack) {
      Mat m;
      const int64_t row_bytes = RowBytes(t, n_cols).value();
      m.wq.resize(static_cast<size_t>(row_bytes * n_rows));
      const auto w = Random(n_rows * n_cols, seed, 0.3f);
      EXPECT_TRUE(Quantize(t, w.data(), m.wq.data(), n_rows * n_cols).ok());
      m.view = MatrixView{t, m.wq.data(), n_cols, n_rows, static_cast<uint64_t>(row_bytes)};
      const PackedGemm& pg = k.packed[static_cast<int>(t)];
      if (pack && pg.pack != nullptr) {
        m.packed = std::make_unique<Aligned>(pg.bytes(n_rows, n_cols));
        pg.pack(m.wq.data(), n_rows, n_cols, m.packed->p);
        m.view.packed = m.packed->p;
      }
      return m;
    };
    // The Q4_K_M attention mix (Q, K in Q4_K, V in Q6_K: Q8_K activations), the same with an
    // unpacked V, and a Q8_0 matrix among K-quants (Q8_A activations).
    std::vector<std::vector<Mat>> sets;
    sets.emplace_back();
    sets.back().push_back(make(DType::kQ4_K, 160, 1, true));
    sets.back().push_back(make(DType::kQ4_K, 32, 2, true));
    sets.back().push_back(make(DType::kQ6_K, 48, 3, true));
    sets.emplace_back();
    sets.back().push_back(make(DType::kQ4_K, 64, 4, true));
    sets.back().push_back(make(DType::kQ6_K, 32, 5, false));
    sets.emplace_back();
    sets.back().push_back(make(DType::kQ8_0, 64, 6, true));
    sets.back().push_back(make(DType::kQ4_K, 96, 7, true));
    sets.back().push_back(make(DType::kQ8_0, 16, 8, true));
    for (int64_t n_tok : {1, 6, 16, 37}) {
      const auto x = Random(n_tok * n_cols, 11, 1.5f);
      for (const auto& set : sets) {
        std::vector<std::vector<float>> fused(set.size()), alone(set.size());
        std::vector<MatMulOut> outs;
        for (size_t i = 0; i < set.size(); ++i) {
          fused[i].assign(static_cast<size_t>(n_tok * set[i].view.n_rows), -1.0f);
          alone[i].resize(fused[i].size());
          outs.push_back({&set[i].view, fused[i].data()});
        }
        MatMulScratch s1, s2;
        MatMulShared(k, pool, outs, x.data(), n_tok, &s1);
        for (size_t i = 0; i < set.size(); ++i) {
          MatMul(k, pool, set[i].view, x.data(), n_tok, alone[i].data(), &s2);
          EXPECT_EQ(std::memcmp(fused[i].data(), alone[i].data(), fused[i].size() * sizeof(float)),
                    0)
              << kernels::IsaName(isa) << " " << DTypeName(set[i].view.dtype) << " entry " << i
              << ", " << n_tok << " tokens";
        }
      }
    }
  }
}

// A float variant's decode entry points against y, its gemm over `rows` (n_tok activation
// rows, row_bytes apart): gemv_multi and gemv for each token give the same bits.
void ExpectDecodeEqualsPrefill(const PackedGemm& pg, const uint8_t* packed, int64_t n_rows,
                               int64_t n_cols, const uint8_t* rows, int64_t row_bytes,
                               int64_t n_tok, const std::vector<float>& y,
                               const std::string& what) {
  const int64_t groups = n_rows / 16;
  if (n_tok <= kernels::kGemvMultiTokens) {
    std::vector<float> ym(y.size(), -7.0f);
    pg.gemv_multi(packed, n_rows, n_cols, rows, n_tok, ym.data(), 0, groups);
    EXPECT_EQ(std::memcmp(ym.data(), y.data(), y.size() * sizeof(float)), 0) << n_tok;
  }
  for (int64_t t = 0; t < n_tok; ++t) {
    std::vector<float> one(static_cast<size_t>(n_rows));
    // Two ranges, as two threads would split them (the second from an odd group when the
    // count is odd).
    pg.gemv(packed, n_rows, n_cols, rows + t * row_bytes, one.data(), 0, groups / 2);
    pg.gemv(packed, n_rows, n_cols, rows + t * row_bytes, one.data(), groups / 2, groups);
    ASSERT_EQ(std::memcmp(one.data(), y.data() + t * n_rows, one.size() * sizeof(float)), 0)
        << "decode differs from prefill: " << what << " K=" << n_cols << " M=" << n_tok << " token "
        << t;
  }
}

// y against the double product of the stored weights wd and the activations xv the kernel
// multiplies, within f32 rounding of Σ |w · x|.
void ExpectDoubleProduct(const std::vector<float>& y, const std::vector<float>& wd,
                         const std::vector<double>& xv, int64_t n_rows, int64_t n_cols,
                         int64_t n_tok, const std::string& what) {
  for (int64_t t = 0; t < n_tok; ++t)
    for (int64_t r = 0; r < n_rows; ++r) {
      double want = 0, mag = 0;
      for (int64_t k = 0; k < n_cols; ++k) {
        const double p = static_cast<double>(wd[r * n_cols + k]) * xv[t * n_cols + k];
        want += p;
        mag += std::fabs(p);
      }
      EXPECT_NEAR(y[t * n_rows + r], want, 1e-6 * mag + 1e-7)
          << what << " row " << r << " token " << t;
    }
}

// F16: f32 activations as they are; gemv, decode batches and prefill give the same bits, and
// match the double product of the stored f16 weights within f32 rounding of Σ |w · x|.
// Both tables' variants (AVX-512, AVX2), and where both run, the same bits from each.
TEST(PackedGemm, F16DecodeEqualsPrefillAndTheDoubleProduct) {
  if (!HaveAvx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  std::vector<PackedGemm> variants;
  if (HaveAvx512()) variants.push_back(kernels::PackedGemmFor(DType::kF16, false));
  variants.push_back(kernels::PackedFloatGemmAvx2(DType::kF16));
  std::map<std::pair<int64_t, int64_t>, std::vector<float>> first;  // (K, M) → the first's y
  for (const PackedGemm& pg : variants) {
    ASSERT_NE(pg.gemm, nullptr);
    EXPECT_EQ(pg.act, kernels::ActFormat::kF32);
    ASSERT_STREQ(pg.layout, variants[0].layout);
    for (const auto& [n_rows, n_cols] :
         {std::pair<int64_t, int64_t>{16, 40}, {48, 1536}, {80, 333}, {112, 264}, {128, 1792}}) {
      const auto w = Random(n_rows * n_cols, 5, 0.5f);
      std::vector<uint8_t> wq(static_cast<size_t>(n_rows * n_cols * 2));
      ASSERT_TRUE(Quantize(DType::kF16, w.data(), wq.data(), n_rows * n_cols).ok());
      std::vector<float> wd(w.size());
      ASSERT_TRUE(Dequantize(DType::kF16, wq.data(), wd.data(), n_rows * n_cols).ok());
      Aligned packed(pg.bytes(n_rows, n_cols));
      EXPECT_EQ(pg.bytes(n_rows, n_cols), wq.size());
      pg.pack(wq.data(), n_rows, n_cols, packed.p);
      const int64_t groups = n_rows / 16;
      for (int64_t n_tok : {2, 7, 16, 17, 40}) {
        const auto x = Random(n_tok * n_cols, 21 + static_cast<uint32_t>(n_tok), 1.0f);
        std::vector<float> y(static_cast<size_t>(n_tok * n_rows), -7.0f);
        const auto* xb = reinterpret_cast<const uint8_t*>(x.data());
        pg.gemm(packed.p, n_rows, n_cols, xb, n_tok, y.data(), 0, groups / 2);
        pg.gemm(packed.p, n_rows, n_cols, xb, n_tok, y.data(), groups / 2, groups);
        auto [it, fresh] = first.try_emplace({n_cols, n_tok}, y);
        if (!fresh) {
          EXPECT_EQ(it->second, y) << "the tables differ: K=" << n_cols << " M=" << n_tok;
        }
        ASSERT_NO_FATAL_FAILURE(ExpectDecodeEqualsPrefill(
            pg, packed.p, n_rows, n_cols, xb, n_cols * static_cast<int64_t>(sizeof(float)), n_tok,
            y, pg.layout));
        ExpectDoubleProduct(y, wd, std::vector<double>(x.begin(), x.end()), n_rows, n_cols, n_tok,
                            pg.layout);
      }
    }
  }
}

// BF16, both variants over one layout: gemv, decode batches and prefill give the same bits,
// and match the double product of the stored bf16 weights and the activations the variant
// multiplies (rounded to bf16 for vdpbf16ps, f32 as they are when widening) within f32
// rounding of Σ |w · x|.
TEST(PackedGemm, BF16DecodeEqualsPrefillAndTheDoubleProduct) {
  if (!HaveAvx2()) GTEST_SKIP() << "no AVX2 on this CPU";
  int variants = 0;
  // The widening variant's y per (K, M), which the AVX2 table must give too.
  std::map<std::pair<int64_t, int64_t>, std::vector<float>> widened;
  for (int v : {0, 1, 2}) {  // AVX-512 widen, AVX-512 vdpbf16ps, AVX2 widen
    if (v < 2 && !HaveAvx512()) continue;
    const bool dp = v == 1;
    const PackedGemm pg =
        v < 2 ? kernels::PackedBF16Gemm(dp) : kernels::PackedFloatGemmAvx2(DType::kBF16);
    if (dp && !kernels::Bf16Usable()) {
      EXPECT_EQ(pg.gemm, nullptr);
      continue;
    }
    ASSERT_NE(pg.gemm, nullptr);
    ++variants;
    EXPECT_EQ(pg.act, dp ? kernels::ActFormat::kBF16 : kernels::ActFormat::kF32);
    for (const auto& [n_rows, n_cols] :
         {std::pair<int64_t, int64_t>{16, 40}, {48, 1536}, {80, 334}, {64, 1030}}) {
      const auto w = Random(n_rows * n_cols, 5, 0.5f);
      std::vector<uint8_t> wq(static_cast<size_t>(n_rows * n_cols * 2));
      ASSERT_TRUE(Quantize(DType::kBF16, w.data(), wq.data(), n_rows * n_cols).ok());
      std::vector<float> wd(w.size());
      ASSERT_TRUE(Dequantize(DType::kBF16, wq.data(), wd.data(), n_rows * n_cols).ok());
      Aligned packed(pg.bytes(n_rows, n_cols));
      EXPECT_EQ(pg.bytes(n_rows, n_cols), wq.size());
      pg.pack(wq.data(), n_rows, n_cols, packed.p);
      const int64_t groups = n_rows / 16;
      for (int64_t n_tok : {1, 2, 7, 16, 17, 40}) {
        const auto x = Random(n_tok * n_cols, 21 + static_cast<uint32_t>(n_tok), 1.0f);
        // What the kernels read: bf16 rows from pack_panel, or the f32 rows.
        std::vector<uint8_t> rows;
        std::vector<double> xv(x.begin(), x.end());
        if (dp) {
          rows.resize(pg.panel_bytes(n_tok, n_cols));
          const int64_t tiles = (n_tok + 15) / 16;
          pg.pack_panel(x.data(), n_tok, n_cols, 0, tiles / 2, rows.data());
          pg.pack_panel(x.data(), n_tok, n_cols, tiles / 2, tiles, rows.data());
          const auto* b = reinterpret_cast<const uint16_t*>(rows.data());
          for (size_t i = 0; i < xv.size(); ++i) {
            EXPECT_EQ(b[i], F32ToBf16(x[i])) << "round to nearest even, element " << i;
            xv[i] = Bf16ToF32(b[i]);
          }
        } else {
          rows.resize(x.size() * sizeof(float));
          std::memcpy(rows.data(), x.data(), rows.size());
        }
        const int64_t row_bytes = static_cast<int64_t>(rows.size()) / n_tok;
        std::vector<float> y(static_cast<size_t>(n_tok * n_rows), -7.0f);
        pg.gemm(packed.p, n_rows, n_cols, rows.data(), n_tok, y.data(), 0, groups / 2);
        pg.gemm(packed.p, n_rows, n_cols, rows.data(), n_tok, y.data(), groups / 2, groups);
        if (!dp) {
          auto [it, fresh] = widened.try_emplace({n_cols, n_tok}, y);
          if (!fresh) {
            EXPECT_EQ(it->second, y) << "the tables differ: K=" << n_cols << " M=" << n_tok;
          }
        }
        const std::string what = "dpbf16=" + std::to_string(dp);
        ASSERT_NO_FATAL_FAILURE(ExpectDecodeEqualsPrefill(pg, packed.p, n_rows, n_cols, rows.data(),
                                                          row_bytes, n_tok, y, what));
        ExpectDoubleProduct(y, wd, xv, n_rows, n_cols, n_tok, what);
      }
    }
  }
  EXPECT_GE(variants, 1);
}

}  // namespace
}  // namespace seekd
