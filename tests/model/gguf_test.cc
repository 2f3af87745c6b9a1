#include "model/gguf.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "core/quant.h"

namespace seekd::model {
namespace {

std::vector<uint8_t> F32Bytes(const std::vector<float>& v) {
  std::vector<uint8_t> b(v.size() * 4);
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

GgufWriter SmallModel() {
  GgufWriter w;
  w.Set("general.architecture", GgufValue::String("llama"));
  w.Set("general.name", GgufValue::String("tiny ✓"));
  w.Set("llama.block_count", GgufValue::U32(2));
  w.Set("llama.rope.freq_base", GgufValue::F32(10000.0f));
  w.Set("tokenizer.ggml.tokens", GgufValue::StringArray({"a", "b", "Ġc"}));
  w.Set(
      "tokenizer.ggml.token_type",
      GgufValue::Array(GgufType::kI32, {GgufValue::I32(1), GgufValue::I32(3), GgufValue::I32(-1)}));
  EXPECT_TRUE(w.AddTensor("token_embd.weight", DType::kF32, {4, 3},
                          F32Bytes({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}))
                  .ok());
  std::vector<float> x(64);
  for (int i = 0; i < 64; ++i) x[i] = 0.01f * i;
  std::vector<uint8_t> q(2 * sizeof(BlockQ8_0));
  EXPECT_TRUE(Quantize(DType::kQ8_0, x.data(), q.data(), 64).ok());
  EXPECT_TRUE(w.AddTensor("blk.0.attn_q.weight", DType::kQ8_0, {32, 2}, q).ok());
  return w;
}

TEST(GgufTest, RoundTripsEveryValueTypeAndTensor) {
  GgufWriter w = SmallModel();
  w.Set("t.u8", GgufValue::U8(200));
  w.Set("t.i8", GgufValue::I8(-5));
  w.Set("t.u16", GgufValue::U16(65535));
  w.Set("t.i16", GgufValue::I16(-300));
  w.Set("t.i32", GgufValue::I32(-70000));
  w.Set("t.u64", GgufValue::U64(uint64_t{1} << 40));
  w.Set("t.i64", GgufValue::I64(-(int64_t{1} << 40)));
  w.Set("t.f64", GgufValue::F64(0.125));
  w.Set("t.bool", GgufValue::Bool(true));
  w.Set("t.nested",
        GgufValue::Array(GgufType::kArray, {GgufValue::StringArray({"x", "y"}),
                                            GgufValue::Array(GgufType::kU8, {GgufValue::U8(7)})}));
  auto bytes = w.ToBytes();
  auto f = GgufFile::FromBytes(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->version(), 3u);
  EXPECT_EQ(f->alignment(), 32u);
  EXPECT_EQ(*f->GetString("general.name"), "tiny ✓");
  EXPECT_EQ(*f->GetUInt("llama.block_count"), 2u);
  EXPECT_EQ(*f->GetFloat("llama.rope.freq_base"), 10000.0);
  EXPECT_EQ(*f->Find("t.u8")->AsUInt(), 200u);
  EXPECT_EQ(*f->Find("t.i8")->AsInt(), -5);
  EXPECT_EQ(*f->Find("t.u16")->AsUInt(), 65535u);
  EXPECT_EQ(*f->Find("t.i16")->AsInt(), -300);
  EXPECT_EQ(*f->Find("t.i32")->AsInt(), -70000);
  EXPECT_EQ(*f->Find("t.u64")->AsUInt(), uint64_t{1} << 40);
  EXPECT_EQ(*f->Find("t.i64")->AsInt(), -(int64_t{1} << 40));
  EXPECT_FALSE(f->Find("t.i64")->AsUInt().has_value());
  EXPECT_EQ(*f->GetFloat("t.f64"), 0.125);
  EXPECT_TRUE(*f->GetBool("t.bool"));
  const GgufValue* nested = f->Find("t.nested");
  ASSERT_NE(nested, nullptr);
  ASSERT_EQ(nested->size(), 2u);
  EXPECT_EQ(*(*nested)[0][1].AsString(), "y");
  EXPECT_EQ(*(*nested)[1][0].AsUInt(), 7u);
  EXPECT_EQ(*f->GetStringArray("tokenizer.ggml.tokens"),
            (std::vector<std::string>{"a", "b", "Ġc"}));
  EXPECT_EQ(*f->Find("tokenizer.ggml.token_type")->elements()[2].AsInt(), -1);

  // Typed getters name the key on a mismatch, and report absence as NotFound.
  EXPECT_EQ(f->GetString("llama.block_count").status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(f->GetString("llama.block_count").status().message().find("llama.block_count"),
            std::string::npos);
  EXPECT_EQ(f->GetUInt("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*f->GetUIntOr("nope", 9), 9u);

  ASSERT_EQ(f->tensors().size(), 2u);
  const GgufTensorInfo* q = f->FindTensor("blk.0.attn_q.weight");
  ASSERT_NE(q, nullptr);
  EXPECT_EQ(q->dtype, DType::kQ8_0);
  EXPECT_EQ(q->shape, (std::vector<int64_t>{32, 2}));
  EXPECT_EQ(q->n_bytes, 68u);
  EXPECT_EQ(q->offset % 32, 0u);
  EXPECT_EQ((f->data_offset() + q->offset) % 32, 0u);
  auto emb = f->TensorData(*f->FindTensor("token_embd.weight"));
  float v[12];
  std::memcpy(v, emb.data(), 48);
  EXPECT_EQ(v[11], 12.0f);
}

TEST(GgufTest, WriterRejectsBadTensors) {
  GgufWriter w;
  std::vector<uint8_t> b(10);
  EXPECT_FALSE(w.AddTensor("x", DType::kF32, {3}, b).ok());    // 12 bytes needed
  EXPECT_FALSE(w.AddTensor("x", DType::kQ4_0, {16}, b).ok());  // not a block multiple
  EXPECT_FALSE(w.AddTensor(std::string(64, 'n'), DType::kI8, {10}, b).ok());  // name too long
  EXPECT_TRUE(w.AddTensor("x", DType::kI8, {10}, b).ok());
  EXPECT_FALSE(w.AddTensor("x", DType::kI8, {10}, b).ok());  // duplicate
}

// GGUF v2 has v3's layout (v3 only added the big-endian variant): a v2 header reads the same.
TEST(GgufTest, ReadsVersion2) {
  auto bytes = SmallModel().ToBytes();
  const uint32_t v2 = 2;
  std::memcpy(bytes.data() + 4, &v2, 4);
  auto f = GgufFile::FromBytes(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->version(), 2u);
  EXPECT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(*f->GetString("general.architecture"), "llama");
}

TEST(GgufTest, CustomAlignmentIsHonoured) {
  GgufWriter w = SmallModel();
  w.Set("general.alignment", GgufValue::U32(64));
  auto bytes = w.ToBytes();
  auto f = GgufFile::FromBytes(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->alignment(), 64u);
  EXPECT_EQ(f->data_offset() % 64, 0u);
  for (const auto& t : f->tensors()) EXPECT_EQ(t.offset % 64, 0u);
}

}  // namespace
}  // namespace seekd::model
