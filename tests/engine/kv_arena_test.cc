// The KV arena's f32 layout: one slab per (layer, K|V, head) with the blocks side by side. Every
// (block, layer, K|V, head, position) names its own floats, a copied block carries all of them,
// and a sequence whose table holds consecutive blocks reads them as one run.
#include <gtest/gtest.h>

#include <set>

#include "engine/kv_cache.h"

namespace seekd::engine {
namespace {

model::LlmConfig Config() {
  model::LlmConfig c;
  c.n_layer = 3;
  c.n_head_kv = 2;
  c.head_dim = 8;
  return c;
}

// A value that names its place, so a misplaced or overlapping write is visible.
float Tag(int block, int layer, int kv, int head, int off, int d) {
  return static_cast<float>(((((block * 3 + layer) * 2 + kv) * 2 + head) * 4 + off) * 8 + d);
}

float* Row(KvArena& a, int block, int layer, int kv, int head, int off) {
  float* r = kv == 0 ? a.K(block, layer, off) : a.V(block, layer, off);
  return r + head * a.head_stride();
}

TEST(KvArena, EveryBlockLayerHeadAndPositionHasItsOwnFloats) {
  const model::LlmConfig c = Config();
  KvArena a(c, 5, 4);
  std::set<const float*> seen;
  for (int b = 0; b < 5; ++b)
    for (int l = 0; l < 3; ++l)
      for (int kv = 0; kv < 2; ++kv)
        for (int h = 0; h < 2; ++h)
          for (int o = 0; o < 4; ++o) {
            float* r = Row(a, b, l, kv, h, o);
            ASSERT_GE(reinterpret_cast<const char*>(r),
                      reinterpret_cast<const char*>(a.K(0, 0, 0)));
            ASSERT_LE(reinterpret_cast<const char*>(r + 8),
                      reinterpret_cast<const char*>(a.K(0, 0, 0)) + a.bytes());
            for (int d = 0; d < 8; ++d) {
              EXPECT_TRUE(seen.insert(r + d).second);
              r[d] = Tag(b, l, kv, h, o, d);
            }
          }
  EXPECT_EQ(seen.size() * sizeof(float), a.bytes());  // the arena is exactly these floats
  a.CopyBlock(3, 1);
  for (int b = 0; b < 5; ++b)
    for (int l = 0; l < 3; ++l)
      for (int kv = 0; kv < 2; ++kv)
        for (int h = 0; h < 2; ++h)
          for (int o = 0; o < 4; ++o)
            for (int d = 0; d < 8; ++d)
              ASSERT_EQ(Row(a, b, l, kv, h, o)[d], Tag(b == 3 ? 1 : b, l, kv, h, o, d))
                  << b << " " << l << " " << kv << " " << h << " " << o;
}

// The same for 8-bit memory: each row's int8 values and its scale (one group per head of 8).
TEST(KvArena, Int8RowsAndScalesEachHaveTheirOwnPlace) {
  const model::LlmConfig c = Config();
  KvArena a(c, 5, 4, /*int8=*/true);
  const auto at = [&](int b, int l, int kv, int h, int o, float** sc) {
    int8_t* q = kv == 0 ? a.K8(b, l, o, sc) : a.V8(b, l, o, sc);
    *sc += h * a.scale_head_stride();
    return q + h * a.head_stride();
  };
  std::set<const void*> seen;
  float* first_scales = nullptr;
  const auto* lo = reinterpret_cast<const char*>(a.K8(0, 0, 0, &first_scales));
  for (int b = 0; b < 5; ++b)
    for (int l = 0; l < 3; ++l)
      for (int kv = 0; kv < 2; ++kv)
        for (int h = 0; h < 2; ++h)
          for (int o = 0; o < 4; ++o) {
            float* sc = nullptr;
            int8_t* q = at(b, l, kv, h, o, &sc);
            ASSERT_LE(reinterpret_cast<const char*>(sc + 1), lo + a.bytes());
            EXPECT_TRUE(seen.insert(sc).second);
            *sc = Tag(b, l, kv, h, o, 0);
            for (int d = 0; d < 8; ++d) {
              EXPECT_TRUE(seen.insert(q + d).second);
              q[d] = static_cast<int8_t>((b * 7 + l * 5 + kv * 3 + h * 2 + o + d) % 100);
            }
          }
  a.CopyBlock(3, 1);
  for (int b = 0; b < 5; ++b)
    for (int l = 0; l < 3; ++l)
      for (int kv = 0; kv < 2; ++kv)
        for (int h = 0; h < 2; ++h)
          for (int o = 0; o < 4; ++o) {
            const int from = b == 3 ? 1 : b;
            float* sc = nullptr;
            const int8_t* q = at(b, l, kv, h, o, &sc);
            ASSERT_EQ(*sc, Tag(from, l, kv, h, o, 0));
            for (int d = 0; d < 8; ++d)
              ASSERT_EQ(q[d],
                        static_cast<int8_t>((from * 7 + l * 5 + kv * 3 + h * 2 + o + d) % 100));
          }
}

TEST(KvArena, ConsecutiveBlocksOfATableAreOneRun) {
  const model::LlmConfig c = Config();
  KvArena a(c, 12, 4);
  PagedSeq s(&a, 4);
  s.blocks() = {2, 3, 4, 9, 10, 6};
  int64_t run = 0;
  EXPECT_EQ(s.K(1, 0, &run), a.K(2, 1, 0));
  EXPECT_EQ(run, 12);  // blocks 2, 3, 4
  EXPECT_EQ(s.V(1, 5, &run), a.V(3, 1, 1));
  EXPECT_EQ(run, 7);
  EXPECT_EQ(s.K(0, 13, &run), a.K(9, 0, 1));
  EXPECT_EQ(run, 7);  // the rest of 9, then 10
  EXPECT_EQ(s.K(2, 22, &run), a.K(6, 2, 2));
  EXPECT_EQ(run, 2);
  // Within a run, position p + i of head h is i · head_dim floats after position p's.
  for (int i = 0; i < 12; ++i)
    EXPECT_EQ(s.K(1, 0, nullptr) + a.head_stride() + i * 8, s.K(1, i, nullptr) + a.head_stride());
}

}  // namespace
}  // namespace seekd::engine
