// Hostile and damaged GGUF files: each gives a clear error, never a crash or a huge allocation.
// The ASan build runs this too.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "model/gguf.h"

namespace seekd::model {
namespace {

std::vector<uint8_t> ValidFile() {
  GgufWriter w;
  w.Set("general.architecture", GgufValue::String("llama"));
  w.Set("tokenizer.ggml.tokens", GgufValue::StringArray({"a", "bb", "ccc"}));
  w.Set("x.arr", GgufValue::Array(GgufType::kU32, {GgufValue::U32(1), GgufValue::U32(2)}));
  std::vector<uint8_t> data(64, 1);
  EXPECT_TRUE(w.AddTensor("a.weight", DType::kF32, {4, 4}, data).ok());
  EXPECT_TRUE(w.AddTensor("b.weight", DType::kF16, {8, 4}, data).ok());
  return w.ToBytes();
}

std::string ErrorOf(const std::vector<uint8_t>& bytes) {
  auto f = GgufFile::FromBytes(bytes);
  return f.ok() ? "" : f.status().ToString();
}

template <typename T>
void Poke(std::vector<uint8_t>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof v);
}

// Byte position of the first occurrence of s.
size_t Find(const std::vector<uint8_t>& b, const std::string& s) {
  auto it = std::search(b.begin(), b.end(), s.begin(), s.end());
  return static_cast<size_t>(it - b.begin());
}

TEST(GgufHostileTest, EveryTruncationIsAnError) {
  const auto good = ValidFile();
  ASSERT_EQ(ErrorOf(good), "");
  // The data section's final padding is not needed by any tensor, so stop before the last tensor's
  // end.
  auto f = GgufFile::FromBytes(good);
  const auto& last = f->tensors().back();
  const size_t needed = f->data_offset() + last.offset + last.n_bytes;
  for (size_t n = 0; n < needed; ++n) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + n);
    std::string e = ErrorOf(cut);
    EXPECT_NE(e, "") << "truncated to " << n << " bytes";
  }
}

TEST(GgufHostileTest, RandomCorruptionNeverCrashes) {
  const auto good = ValidFile();
  std::mt19937 rng(42);
  int errors = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto b = good;
    const int flips = 1 + iter % 4;
    for (int k = 0; k < flips; ++k) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    auto f = GgufFile::FromBytes(b);
    if (!f.ok()) {
      ++errors;
      continue;
    }
    for (const auto& t : f->tensors()) {  // whatever parsed must be in bounds
      auto span = f->TensorData(t);
      ASSERT_LE(span.data() + span.size(), b.data() + b.size());
    }
  }
  EXPECT_GT(errors, 100);
}

TEST(GgufHostileTest, SpecificDamageNamesTheProblem) {
  const auto good = ValidFile();
  auto expect = [&](std::vector<uint8_t> b, const std::string& want) {
    std::string e = ErrorOf(b);
    EXPECT_NE(e.find(want), std::string::npos) << "got: " << e;
  };
  {
    auto b = good;
    b[0] = 'X';
    expect(b, "bad magic");
  }
  {
    auto b = good;
    Poke<uint32_t>(b, 4, 1);
    expect(b, "version 1");
  }
  {
    auto b = good;
    Poke<uint32_t>(b, 4, 0x03000000);
    expect(b, "big-endian");
  }
  {
    auto b = good;
    Poke<uint64_t>(b, 8, uint64_t{1} << 60);  // tensor count
    expect(b, "tensor count");
  }
  {
    auto b = good;
    Poke<uint64_t>(b, 16, uint64_t{1} << 61);  // kv count
    expect(b, "metadata count");
  }
  {
    auto b = good;  // the string array's length: huge count must not allocate
    size_t at = Find(b, "tokenizer.ggml.tokens") + std::strlen("tokenizer.ggml.tokens") + 4 + 4;
    Poke<uint64_t>(b, at, uint64_t{1} << 58);
    expect(b, "runs past the end");
  }
  {
    auto b = good;  // a string length beyond the file
    size_t at = Find(b, "llama") - 8;
    Poke<uint64_t>(b, at, 1000000);
    expect(b, "runs past the end");
  }
  {
    auto b = good;  // second tensor's type id → unknown
    size_t at = Find(b, "b.weight") + 8 + 4 + 16;
    Poke<uint32_t>(b, at, 77);
    expect(b, "unknown type id 77");
  }
  {
    auto b = good;  // second tensor's dims count → 5
    size_t at = Find(b, "b.weight") + 8;
    Poke<uint32_t>(b, at, 5);
    expect(b, "dimensions");
  }
  {
    auto b = good;  // second tensor's offset → unaligned
    size_t at = Find(b, "b.weight") + 8 + 4 + 16 + 4;
    Poke<uint64_t>(b, at, 3);
    expect(b, "not a multiple of the alignment");
  }
  {
    auto b = good;  // second tensor's offset → overlaps the first
    size_t at = Find(b, "b.weight") + 8 + 4 + 16 + 4;
    Poke<uint64_t>(b, at, 32);
    expect(b, "overlap");
  }
  {
    auto b = good;  // second tensor's offset → past the end
    size_t at = Find(b, "b.weight") + 8 + 4 + 16 + 4;
    Poke<uint64_t>(b, at, 1 << 20);
    expect(b, "ends past the end of the file");
  }
  {
    auto b = good;  // second tensor renamed to the first's name
    size_t at = Find(b, "b.weight");
    b[at] = 'a';
    expect(b, "duplicate tensor 'a.weight'");
  }
  {
    auto b = good;  // ne0 of a tensor → not a multiple of its block size is not possible for F32;
    size_t at = Find(b, "a.weight") + 8 + 4;  // make it negative instead
    Poke<int64_t>(b, at, -4);
    expect(b, "negative dimension");
  }
}

TEST(GgufHostileTest, BadAlignmentAndDeepNestingAreRefused) {
  GgufWriter w;
  w.Set("general.alignment", GgufValue::U32(24));
  EXPECT_NE(ErrorOf(w.ToBytes()).find("power of two"), std::string::npos);

  GgufValue v = GgufValue::Array(GgufType::kU8, {GgufValue::U8(1)});
  for (int i = 0; i < 10; ++i) v = GgufValue::Array(GgufType::kArray, {v});
  GgufWriter deep;
  deep.Set("deep", v);
  EXPECT_NE(ErrorOf(deep.ToBytes()).find("nested deeper"), std::string::npos);

  GgufWriter dup;
  dup.Set("k", GgufValue::U8(1));
  auto b = dup.ToBytes();
  // Duplicate the single KV (8-byte length + "k" + u32 type + u8 value) and bump the count.
  const size_t kv_bytes = 8 + 1 + 4 + 1;
  std::vector<uint8_t> kv(b.begin() + 24, b.begin() + 24 + kv_bytes);
  b.insert(b.begin() + 24 + kv_bytes, kv.begin(), kv.end());
  Poke<uint64_t>(b, 16, 2);
  EXPECT_NE(ErrorOf(b).find("duplicate metadata key 'k'"), std::string::npos);
}

TEST(GgufHostileTest, MissingFileIsAnIoErrorNamingThePath) {
  auto f = GgufFile::Open("/nonexistent/model.gguf");
  ASSERT_FALSE(f.ok());
  EXPECT_NE(f.status().message().find("/nonexistent/model.gguf"), std::string::npos);
}

}  // namespace
}  // namespace seekd::model
