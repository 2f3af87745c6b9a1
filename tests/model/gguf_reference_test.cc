// GGUF byte-compatibility with llama.cpp's own ggml library (prebuilt, installed from npm by
// scripts/setup into tests/reference): the same content written by ggml's gguf writer and by
// ours gives identical bytes, and each reads the other's file. Skipped without the library.
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/quant.h"
#include "model/gguf.h"
#include "model/tiny_model.h"

namespace seekd::model {
namespace {

// The few ggml C entry points the test needs, declared from ggml's public API.
struct GgmlInitParams {
  size_t mem_size;
  void* mem_buffer;
  bool no_alloc;
};
struct GgufInitParams {
  bool no_alloc;
  void** ctx;
};
struct Ggml {
  void* (*ggml_init)(GgmlInitParams);
  void (*ggml_free)(void*);
  void* (*ggml_new_tensor)(void*, int, int, const int64_t*);
  void* (*ggml_set_name)(void*, const char*);
  void* (*ggml_get_data)(void*);
  void* (*gguf_init_empty)();
  void* (*gguf_init_from_file)(const char*, GgufInitParams);
  void (*gguf_free)(void*);
  void (*gguf_set_val_u32)(void*, const char*, uint32_t);
  void (*gguf_set_val_i32)(void*, const char*, int32_t);
  void (*gguf_set_val_f32)(void*, const char*, float);
  void (*gguf_set_val_u64)(void*, const char*, uint64_t);
  void (*gguf_set_val_bool)(void*, const char*, bool);
  void (*gguf_set_val_str)(void*, const char*, const char*);
  void (*gguf_set_arr_str)(void*, const char*, const char**, size_t);
  void (*gguf_set_arr_data)(void*, const char*, int, const void*, size_t);
  void (*gguf_add_tensor)(void*, const void*);
  bool (*gguf_write_to_file)(const void*, const char*, bool);
  int64_t (*gguf_get_n_kv)(const void*);
  int64_t (*gguf_get_n_tensors)(const void*);
  size_t (*gguf_get_data_offset)(const void*);
  size_t (*gguf_get_tensor_offset)(const void*, int64_t);
  const char* (*gguf_get_tensor_name)(const void*, int64_t);
  int (*gguf_get_tensor_type)(const void*, int64_t);
  size_t (*gguf_get_tensor_size)(const void*, int64_t);
  bool ok = false;
};

const Ggml& Lib() {
  static Ggml g = [] {
    Ggml g{};
    const char* dir = std::getenv("SEEKD_GGML_REF_DIR");
    std::string path = std::string(dir ? dir : SEEKD_GGML_REF_DIR_DEFAULT) + "/libggml-base.so";
    void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!h) return g;
    bool all = true;
    auto load = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(h, name));
      all = all && fn != nullptr;
    };
#define SEEKD_LOAD(name) load(g.name, #name)
    SEEKD_LOAD(ggml_init);
    SEEKD_LOAD(ggml_free);
    SEEKD_LOAD(ggml_new_tensor);
    SEEKD_LOAD(ggml_set_name);
    SEEKD_LOAD(ggml_get_data);
    SEEKD_LOAD(gguf_init_empty);
    SEEKD_LOAD(gguf_init_from_file);
    SEEKD_LOAD(gguf_free);
    SEEKD_LOAD(gguf_set_val_u32);
    SEEKD_LOAD(gguf_set_val_i32);
    SEEKD_LOAD(gguf_set_val_f32);
    SEEKD_LOAD(gguf_set_val_u64);
    SEEKD_LOAD(gguf_set_val_bool);
    SEEKD_LOAD(gguf_set_val_str);
    SEEKD_LOAD(gguf_set_arr_str);
    SEEKD_LOAD(gguf_set_arr_data);
    SEEKD_LOAD(gguf_add_tensor);
    SEEKD_LOAD(gguf_write_to_file);
    SEEKD_LOAD(gguf_get_n_kv);
    SEEKD_LOAD(gguf_get_n_tensors);
    SEEKD_LOAD(gguf_get_data_offset);
    SEEKD_LOAD(gguf_get_tensor_offset);
    SEEKD_LOAD(gguf_get_tensor_name);
    SEEKD_LOAD(gguf_get_tensor_type);
    SEEKD_LOAD(gguf_get_tensor_size);
#undef SEEKD_LOAD
    g.ok = all;
    return g;
  }();
  return g;
}

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("seekd_gguf_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

std::vector<uint8_t> ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct TensorSpec {
  const char* name;
  DType dtype;
  std::vector<int64_t> shape;
};

// The same content through both writers; `alignment` 0 leaves the default.
void WriteBoth(uint32_t alignment, const std::string& ours_path, const std::string& theirs_path) {
  const Ggml& g = Lib();
  const std::vector<TensorSpec> specs = {
      {"token_embd.weight", DType::kQ4_K, {256, 3}},
      {"blk.0.attn_norm.weight", DType::kF32, {7}},
      {"blk.0.ffn_down.weight", DType::kQ6_K, {256, 2}},
      {"blk.0.attn_v.weight", DType::kQ8_0, {64, 5}},
      {"output.weight", DType::kF16, {9, 3}},
  };
  void* gctx = g.gguf_init_empty();
  GgufWriter w;
  const char* tokens[] = {"<｜begin▁of▁sentence｜>", "Ġthe", "\n"};
  const int32_t types[] = {3, 1, 1};
  const float scores[] = {0.0f, -1.5f, 2.25f};
  if (alignment) {
    g.gguf_set_val_u32(gctx, "general.alignment", alignment);
    w.Set("general.alignment", GgufValue::U32(alignment));
  }
  g.gguf_set_val_str(gctx, "general.architecture", "llama");
  w.Set("general.architecture", GgufValue::String("llama"));
  g.gguf_set_val_u32(gctx, "llama.block_count", 1);
  w.Set("llama.block_count", GgufValue::U32(1));
  g.gguf_set_val_f32(gctx, "llama.attention.layer_norm_rms_epsilon", 1e-6f);
  w.Set("llama.attention.layer_norm_rms_epsilon", GgufValue::F32(1e-6f));
  g.gguf_set_val_u64(gctx, "x.big", uint64_t{1} << 40);
  w.Set("x.big", GgufValue::U64(uint64_t{1} << 40));
  g.gguf_set_val_bool(gctx, "tokenizer.ggml.add_bos_token", true);
  w.Set("tokenizer.ggml.add_bos_token", GgufValue::Bool(true));
  g.gguf_set_arr_str(gctx, "tokenizer.ggml.tokens", tokens, 3);
  w.Set("tokenizer.ggml.tokens", GgufValue::StringArray({tokens[0], tokens[1], tokens[2]}));
  g.gguf_set_arr_data(gctx, "tokenizer.ggml.token_type", 5 /* i32 */, types, 3);
  w.Set(
      "tokenizer.ggml.token_type",
      GgufValue::Array(GgufType::kI32, {GgufValue::I32(3), GgufValue::I32(1), GgufValue::I32(1)}));
  g.gguf_set_arr_data(gctx, "tokenizer.ggml.scores", 6 /* f32 */, scores, 3);
  w.Set("tokenizer.ggml.scores",
        GgufValue::Array(GgufType::kF32,
                         {GgufValue::F32(0.0f), GgufValue::F32(-1.5f), GgufValue::F32(2.25f)}));
  // Re-setting a key moves it to the end in ggml; ours must do the same.
  g.gguf_set_val_i32(gctx, "llama.block_count", 2);
  w.Set("llama.block_count", GgufValue::I32(2));

  void* ctx = g.ggml_init({size_t{16} << 20, nullptr, false});
  for (const auto& s : specs) {
    void* t = g.ggml_new_tensor(ctx, static_cast<int>(s.dtype), static_cast<int>(s.shape.size()),
                                s.shape.data());
    g.ggml_set_name(t, s.name);
    int64_t n = 1;
    for (auto d : s.shape) n *= d;
    std::vector<float> x(n);
    for (int64_t i = 0; i < n; ++i) x[i] = std::sin(0.37f * i) * 0.1f;
    std::vector<uint8_t> bytes(*RowBytes(s.dtype, s.shape[0]) * (n / s.shape[0]));
    ASSERT_TRUE(Quantize(s.dtype, x.data(), bytes.data(), n).ok());
    std::memcpy(g.ggml_get_data(t), bytes.data(), bytes.size());
    g.gguf_add_tensor(gctx, t);
    ASSERT_TRUE(w.AddTensor(s.name, s.dtype, s.shape, bytes).ok());
  }
  ASSERT_TRUE(g.gguf_write_to_file(gctx, theirs_path.c_str(), false));
  ASSERT_TRUE(w.Write(ours_path).ok());
  g.gguf_free(gctx);
  g.ggml_free(ctx);
}

class GgufReferenceTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(GgufReferenceTest, SameBytesAsGgmlAndReadableBothWays) {
  if (!Lib().ok) GTEST_SKIP() << "llama.cpp reference library not installed (scripts/setup)";
  const std::string ours = TempPath("ours.gguf"), theirs = TempPath("theirs.gguf");
  WriteBoth(GetParam(), ours, theirs);
  // ggml's writer pads with the alignment it was created with, whatever general.alignment says
  // (its own reader then refuses such a file), so byte equality is checked at the default.
  if (GetParam() == 0) {
    const auto a = ReadAll(ours), b = ReadAll(theirs);
    ASSERT_FALSE(b.empty());
    EXPECT_EQ(a.size(), b.size());
    size_t first_diff = 0;
    while (first_diff < std::min(a.size(), b.size()) && a[first_diff] == b[first_diff])
      ++first_diff;
    EXPECT_EQ(first_diff, std::max(a.size(), b.size())) << "files differ from byte " << first_diff;
    // We read ggml's file.
    auto theirs_file = GgufFile::Open(theirs);
    ASSERT_TRUE(theirs_file.ok()) << theirs_file.status().ToString();
    EXPECT_EQ(theirs_file->tensors().size(), 5u);
    EXPECT_EQ(*theirs_file->Find("llama.block_count")->AsInt(), 2);
    EXPECT_EQ(theirs_file->metadata().back().first, "llama.block_count");
  }
  auto f = GgufFile::Open(ours);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  EXPECT_EQ(f->alignment(), GetParam() ? GetParam() : 32u);

  // ggml reads ours, with the same layout.
  void* meta = nullptr;
  void* g = Lib().gguf_init_from_file(ours.c_str(), {true, &meta});
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(Lib().gguf_get_n_tensors(g), 5);
  EXPECT_EQ(Lib().gguf_get_n_kv(g), static_cast<int64_t>(f->metadata().size()));
  EXPECT_EQ(Lib().gguf_get_data_offset(g), f->data_offset());
  for (int64_t i = 0; i < 5; ++i)
    EXPECT_EQ(Lib().gguf_get_tensor_offset(g, i), f->tensors()[i].offset);
  Lib().gguf_free(g);
  if (meta) Lib().ggml_free(meta);
  std::remove(ours.c_str());
  std::remove(theirs.c_str());
}

INSTANTIATE_TEST_SUITE_P(Alignments, GgufReferenceTest, ::testing::Values(0u, 64u));

// The tiny models (Q4_K_M mix, 3-D expert tensors for deepseek2) load in ggml with the same
// tensor table: names, types, sizes and offsets.
class TinyModelReferenceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(TinyModelReferenceTest, GgmlReadsTheSameTable) {
  if (!Lib().ok) GTEST_SKIP() << "llama.cpp reference library not installed (scripts/setup)";
  TinyModelSpec spec;
  spec.arch = GetParam();
  spec.n_layer = 3;
  GgufWriter w;
  ASSERT_TRUE(WriteTinyModel(spec, &w).ok());
  const std::string path = TempPath("tiny_" + spec.arch + ".gguf");
  ASSERT_TRUE(w.Write(path).ok());
  auto f = GgufFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  void* meta = nullptr;
  void* g = Lib().gguf_init_from_file(path.c_str(), {true, &meta});
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(Lib().gguf_get_n_kv(g), static_cast<int64_t>(f->metadata().size()));
  ASSERT_EQ(Lib().gguf_get_n_tensors(g), static_cast<int64_t>(f->tensors().size()));
  EXPECT_EQ(Lib().gguf_get_data_offset(g), f->data_offset());
  for (size_t i = 0; i < f->tensors().size(); ++i) {
    const auto& t = f->tensors()[i];
    const auto id = static_cast<int64_t>(i);
    EXPECT_EQ(std::string(Lib().gguf_get_tensor_name(g, id)), t.name);
    EXPECT_EQ(Lib().gguf_get_tensor_type(g, id), static_cast<int>(t.dtype)) << t.name;
    EXPECT_EQ(Lib().gguf_get_tensor_size(g, id), t.n_bytes) << t.name;
    EXPECT_EQ(Lib().gguf_get_tensor_offset(g, id), t.offset) << t.name;
  }
  Lib().gguf_free(g);
  if (meta) Lib().ggml_free(meta);
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(Archs, TinyModelReferenceTest,
                         ::testing::Values("llama", "qwen2", "deepseek2"));

}  // namespace
}  // namespace seekd::model
