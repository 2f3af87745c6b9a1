// The attention tile (kernels::Attend) on every ISA this CPU has: against a double-precision
// softmax(q·Kᵀ·scale)·V written from the formula, and bit-identical per row whatever the other
// rows of the tile and however the positions are split into runs (what batch invariance needs).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "core/kernels/kernels.h"

namespace seekd {
namespace {

using kernels::Isa;

// Keys and values of one KV head: n_pos rows of `stride` floats (the head's slice at offset 0).
struct Head {
  int64_t hd, stride, n_pos;
  std::vector<float> k, v;
};

Head MakeHead(int64_t hd, int64_t n_pos, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  Head h{hd, hd + 8, n_pos, {}, {}};  // a wider row, as when several KV heads share it
  h.k.resize(static_cast<size_t>(n_pos * h.stride));
  h.v.resize(h.k.size());
  for (auto& x : h.k) x = dist(rng);
  for (auto& x : h.v) x = dist(rng);
  return h;
}

// Runs a tile; `run_len` splits the positions into runs of that many (0: one run).
std::vector<float> RunTile(const kernels::Kernels& k, const Head& h,
                           const std::vector<std::vector<float>>& q,
                           const std::vector<int64_t>& n_vis, int64_t run_len) {
  const int64_t rows = static_cast<int64_t>(q.size());
  int64_t max_vis = 0;
  for (int64_t n : n_vis) max_vis = std::max(max_vis, n);
  std::vector<const float*> kr, vr;
  std::vector<int64_t> runs;
  for (int64_t j = 0; j < max_vis;) {
    const int64_t n = run_len > 0 ? std::min(run_len, max_vis - j) : max_vis - j;
    kr.push_back(h.k.data() + j * h.stride);
    vr.push_back(h.v.data() + j * h.stride);
    runs.push_back(n);
    j += n;
  }
  std::vector<float> out(static_cast<size_t>(rows * h.hd), -1.0f);
  std::vector<const float*> qp;
  std::vector<float*> op;
  for (int64_t i = 0; i < rows; ++i) {
    qp.push_back(q[static_cast<size_t>(i)].data());
    op.push_back(out.data() + i * h.hd);
  }
  std::vector<float> scratch(
      static_cast<size_t>(kernels::AttnScratchFloats(rows, max_vis, h.hd)),
      std::numeric_limits<float>::quiet_NaN());  // the kernel must write before it reads
  kernels::AttnTile t;
  t.head_dim = h.hd;
  t.n_rows = rows;
  t.q = qp.data();
  t.out = op.data();
  t.n_vis = n_vis.data();
  t.scale = 1.0f / std::sqrt(static_cast<float>(h.hd));
  t.k = kr.data();
  t.v = vr.data();
  t.run = runs.data();
  t.n_runs = static_cast<int64_t>(runs.size());
  t.kv_stride = h.stride;
  t.scratch = scratch.data();
  kernels::Attend(k, t);
  return out;
}

std::vector<double> Reference(const Head& h, const std::vector<float>& q, int64_t n_vis) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(h.hd));
  std::vector<double> s(static_cast<size_t>(n_vis)), out(static_cast<size_t>(h.hd), 0.0);
  double max = -1e300, sum = 0;
  for (int64_t j = 0; j < n_vis; ++j) {
    double dot = 0;
    for (int64_t d = 0; d < h.hd; ++d)
      dot += static_cast<double>(q[static_cast<size_t>(d)]) *
             h.k[static_cast<size_t>(j * h.stride + d)];
    s[static_cast<size_t>(j)] = dot * scale;
    max = std::max(max, dot * scale);
  }
  for (auto& x : s) sum += (x = std::exp(x - max));
  for (int64_t j = 0; j < n_vis; ++j)
    for (int64_t d = 0; d < h.hd; ++d)
      out[static_cast<size_t>(d)] +=
          s[static_cast<size_t>(j)] / sum * h.v[static_cast<size_t>(j * h.stride + d)];
  return out;
}

std::vector<std::vector<float>> Queries(int64_t rows, int64_t hd, float amp, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> dist(0.0f, amp);
  std::vector<std::vector<float>> q(static_cast<size_t>(rows), std::vector<float>(hd));
  for (auto& r : q)
    for (auto& x : r) x = dist(rng);
  return q;
}

// Head sizes: 128 and 64 (every DeepSeek dense model), 24 and 8 (multiples of 8, the wide
// path), 12 (not a multiple of 8: the per-row path on every table). Row counts: one head, a
// qwen2 group of 6, one vector, one vector plus one, three full vectors.
TEST(Attention, EveryIsaMatchesTheDoubleFormula) {
  uint32_t seed = 1;
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    for (int64_t hd : {128, 64, 24, 12, 8})
      for (int64_t rows : {1, 6, 16, 17, 48})
        for (float amp : {0.5f, 4.0f}) {  // flat and peaked softmaxes
          SCOPED_TRACE(std::string(kernels::IsaName(isa)) + " hd " + std::to_string(hd) + " rows " +
                       std::to_string(rows) + " amp " + std::to_string(amp));
          const Head h = MakeHead(hd, 301, seed++);
          const auto q = Queries(rows, hd, amp, seed++);
          std::mt19937 rng(seed++);
          std::vector<int64_t> n_vis(static_cast<size_t>(rows));
          for (auto& n : n_vis) n = 1 + static_cast<int64_t>(rng() % 301);
          n_vis[0] = 301;
          if (rows > 1) n_vis[1] = 1;  // one position: the output is that value row
          const auto out = RunTile(k, h, q, n_vis, 16);
          double worst = 0;
          for (int64_t i = 0; i < rows; ++i) {
            const auto ref = Reference(h, q[static_cast<size_t>(i)], n_vis[static_cast<size_t>(i)]);
            for (int64_t d = 0; d < hd; ++d)
              worst = std::max(worst, std::fabs(out[static_cast<size_t>(i * hd + d)] -
                                                ref[static_cast<size_t>(d)]));
          }
          // Outputs are convex mixtures of N(0, 1) values; f32 scores over ≤ 128 products and
          // f32 sums over ≤ 301 weights leave errors up to 5e-6 (peaked rows of 128). 2e-5 is
          // four times that and far below a wrong mask, scale or softmax (≥ 1e-2).
          EXPECT_LT(worst, 2e-5);
        }
  }
}

TEST(Attention, ARowIsBitIdenticalAloneInATileAndAcrossRunSplits) {
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    for (int64_t hd : {128, 24, 8}) {
      SCOPED_TRACE(std::string(kernels::IsaName(isa)) + " hd " + std::to_string(hd));
      const Head h = MakeHead(hd, 200, 7);
      const auto q = Queries(48, hd, 2.0f, 8);
      std::vector<int64_t> n_vis(48);
      for (int64_t i = 0; i < 48; ++i) n_vis[static_cast<size_t>(i)] = 150 + i;  // causal-like
      const auto full = RunTile(k, h, q, n_vis, 16);
      const auto one_run = RunTile(k, h, q, n_vis, 0);
      const auto odd_runs = RunTile(k, h, q, n_vis, 7);
      EXPECT_EQ(0, std::memcmp(full.data(), one_run.data(), full.size() * 4));
      EXPECT_EQ(0, std::memcmp(full.data(), odd_runs.data(), full.size() * 4));
      for (int64_t i : {0, 5, 17, 47}) {
        const auto alone =
            RunTile(k, h, {q[static_cast<size_t>(i)]}, {n_vis[static_cast<size_t>(i)]}, 16);
        EXPECT_EQ(0, std::memcmp(alone.data(), full.data() + i * hd, static_cast<size_t>(hd) * 4))
            << "row " << i;
      }
      // Six rows (one token's GQA group) against the same rows inside the 48; and 12 and 13
      // rows, either side of the AVX-512 table's switch between its two P·V passes.
      for (int64_t n : {6, 12, 13}) {
        const std::vector<std::vector<float>> some(q.begin() + 12, q.begin() + 12 + n);
        const std::vector<int64_t> some_vis(n_vis.begin() + 12, n_vis.begin() + 12 + n);
        const auto part = RunTile(k, h, some, some_vis, 16);
        EXPECT_EQ(0, std::memcmp(part.data(), full.data() + 12 * hd, part.size() * 4))
            << n << " rows";
      }
    }
  }
}

// 8-bit keys and values read by the tile itself (AttnTile::k8/v8) against the f32 tile of the
// same values converted up front (float(q) · scale): the same bits, for every table that takes
// them, any row count and any run split.
TEST(Attention, AnInt8TileGivesTheBitsOfItsF32Values) {
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    if (!k.attend_int8) continue;
    for (int64_t hd : {128, 64, 24}) {
      const int64_t heads = 2, width = heads * hd, G = hd % 32 == 0 ? 32 : hd, n_pos = 300;
      std::mt19937 rng(static_cast<uint32_t>(hd));
      std::uniform_int_distribution<int> qd(-127, 127);
      std::uniform_real_distribution<float> sd(0.001f, 0.05f);
      // Rows of both heads side by side (an 8-bit store's layout); the tile reads head 1.
      std::vector<int8_t> kq(static_cast<size_t>(n_pos * width)), vq(kq.size());
      std::vector<float> ks(static_cast<size_t>(n_pos * width / G)), vs(ks.size());
      for (auto& x : kq) x = static_cast<int8_t>(qd(rng));
      for (auto& x : vq) x = static_cast<int8_t>(qd(rng));
      for (auto& x : ks) x = sd(rng);
      for (auto& x : vs) x = sd(rng);
      Head h{hd, hd, n_pos, {}, {}};  // the f32 values of head 1, one row per position
      for (int64_t j = 0; j < n_pos; ++j)
        for (int64_t d = 0; d < hd; ++d) {
          const size_t qi = static_cast<size_t>(j * width + hd + d);
          const size_t si = static_cast<size_t>((j * width + hd + d) / G);
          h.k.push_back(static_cast<float>(kq[qi]) * ks[si]);
          h.v.push_back(static_cast<float>(vq[qi]) * vs[si]);
        }
      for (int64_t rows : {1, 6, 12, 13, 48})
        for (int64_t run_len : {4, 7, 0}) {
          SCOPED_TRACE(std::string(kernels::IsaName(isa)) + " hd " + std::to_string(hd) + " rows " +
                       std::to_string(rows) + " runs " + std::to_string(run_len));
          const auto q = Queries(rows, hd, 2.0f, static_cast<uint32_t>(rows));
          std::vector<int64_t> n_vis(static_cast<size_t>(rows));
          for (int64_t i = 0; i < rows; ++i) n_vis[static_cast<size_t>(i)] = n_pos - (i * 37) % 200;
          int64_t max_vis = 0;
          for (int64_t n : n_vis) max_vis = std::max(max_vis, n);
          const auto want = RunTile(k, h, q, n_vis, run_len);
          std::vector<const int8_t*> k8, v8;
          std::vector<const float*> k8s, v8s;
          std::vector<int64_t> runs;
          for (int64_t j = 0; j < max_vis;) {
            const int64_t n = run_len > 0 ? std::min(run_len, max_vis - j) : max_vis - j;
            k8.push_back(kq.data() + j * width + hd);
            v8.push_back(vq.data() + j * width + hd);
            k8s.push_back(ks.data() + (j * width + hd) / G);
            v8s.push_back(vs.data() + (j * width + hd) / G);
            runs.push_back(n);
            j += n;
          }
          std::vector<float> out(static_cast<size_t>(rows * hd), -1.0f);
          std::vector<const float*> qp;
          std::vector<float*> op;
          for (int64_t i = 0; i < rows; ++i) {
            qp.push_back(q[static_cast<size_t>(i)].data());
            op.push_back(out.data() + i * hd);
          }
          std::vector<float> scratch(
              static_cast<size_t>(kernels::AttnScratchFloats(rows, max_vis, hd)),
              std::numeric_limits<float>::quiet_NaN());
          kernels::AttnTile t;
          t.head_dim = hd;
          t.n_rows = rows;
          t.q = qp.data();
          t.out = op.data();
          t.n_vis = n_vis.data();
          t.scale = 1.0f / std::sqrt(static_cast<float>(hd));
          t.run = runs.data();
          t.n_runs = static_cast<int64_t>(runs.size());
          t.scratch = scratch.data();
          t.k8 = k8.data();
          t.v8 = v8.data();
          t.k8_scale = k8s.data();
          t.v8_scale = v8s.data();
          t.q8_stride = width;
          t.q8_scale_stride = width / G;
          t.q8_group = G;
          kernels::Attend(k, t);
          EXPECT_EQ(0, std::memcmp(out.data(), want.data(), out.size() * 4));
        }
    }
  }
}

TEST(Attention, PositionsBeyondTheTileAreNeverRead) {
  for (Isa isa : kernels::AvailableIsas()) {
    const auto& k = kernels::KernelsFor(isa);
    Head h = MakeHead(64, 100, 3);
    const auto q = Queries(6, 64, 1.0f, 4);
    const std::vector<int64_t> n_vis = {40, 41, 60, 60, 59, 1};
    const auto clean = RunTile(k, h, q, n_vis, 16);
    for (int64_t j = 60; j < 100; ++j)
      for (int64_t d = 0; d < h.stride; ++d) {
        h.k[static_cast<size_t>(j * h.stride + d)] = std::numeric_limits<float>::quiet_NaN();
        h.v[static_cast<size_t>(j * h.stride + d)] = std::numeric_limits<float>::quiet_NaN();
      }
    for (int64_t j = 0; j < 60; ++j)  // the other heads' slices of the row
      for (int64_t d = 64; d < h.stride; ++d) {
        h.k[static_cast<size_t>(j * h.stride + d)] = std::numeric_limits<float>::quiet_NaN();
        h.v[static_cast<size_t>(j * h.stride + d)] = std::numeric_limits<float>::quiet_NaN();
      }
    const auto poisoned = RunTile(k, h, q, n_vis, 16);
    EXPECT_EQ(0, std::memcmp(clean.data(), poisoned.data(), clean.size() * 4))
        << kernels::IsaName(isa);
  }
}

}  // namespace
}  // namespace seekd
