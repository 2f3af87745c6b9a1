// safetensors reader: round trip with the writer, hostile headers, and the seed corpora of the
// fuzz targets (each parses; random damage never crashes).
#include "model/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "model/gguf.h"
#include "model/model_desc.h"

namespace seekd::model {
namespace {

std::vector<uint8_t> Bytes(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> b(8 + header.size() + data_bytes, 0);
  const uint64_t n = header.size();
  std::memcpy(b.data(), &n, 8);
  std::memcpy(b.data() + 8, header.data(), header.size());
  return b;
}

std::string ErrorOf(const std::vector<uint8_t>& b) {
  auto f = SafetensorsFile::FromBytes(b);
  return f.ok() ? "" : f.status().ToString();
}

TEST(SafetensorsTest, RoundTripsThroughTheWriter) {
  const std::string path =
      (std::filesystem::temp_directory_path() / ("seekd_st_" + std::to_string(::getpid())))
          .string();
  std::vector<uint8_t> a(2 * 3 * 2, 7), b(4 * 4, 9);
  ASSERT_TRUE(WriteSafetensors(path, {{"x.weight", "BF16", {2, 3}, a}, {"y", "F32", {4}, b}},
                               {{"format", "pt"}})
                  .ok());
  auto f = SafetensorsFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->tensors().size(), 2u);
  EXPECT_EQ(f->metadata().at("format"), "pt");
  for (const auto& t : f->tensors()) {
    if (t.name == "x.weight") {
      EXPECT_EQ(t.dtype, "BF16");
      EXPECT_EQ(t.shape, (std::vector<int64_t>{2, 3}));
      EXPECT_EQ(f->TensorData(t)[0], 7);
    } else {
      EXPECT_EQ(f->TensorData(t).size(), 16u);
    }
  }
  std::remove(path.c_str());
}

TEST(SafetensorsTest, HostileHeadersAreClearErrors) {
  auto expect = [](const std::vector<uint8_t>& b, const std::string& want) {
    EXPECT_NE(ErrorOf(b).find(want), std::string::npos) << ErrorOf(b);
  };
  expect({1, 2, 3}, "truncated");
  {
    std::vector<uint8_t> b(8, 0xff);  // header length 2^64 - 1
    expect(b, "100 MiB");
  }
  {
    auto b = Bytes("{}", 0);
    const uint64_t n = 1000;
    std::memcpy(b.data(), &n, 8);
    expect(b, "runs past the end");
  }
  expect(Bytes("{not json", 0), "not JSON");
  expect(Bytes("[1,2]", 0), "not a JSON object");
  expect(Bytes(R"({"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}})", 4),
         "outside the data section");
  expect(Bytes(R"({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})", 8),
         "needing 12");
  expect(Bytes(R"({"t": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 8]}})", 8),
         "non-negative");
  expect(Bytes(R"({"t": {"dtype": "Q9", "shape": [2], "data_offsets": [0, 8]}})", 8), "dtype Q9");
  expect(
      Bytes(R"({"t": {"dtype": "F32", "shape": [4294967296, 4294967296], "data_offsets": [0, 8]}})",
            8),
      "overflows");
  expect(Bytes(R"({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                  "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}})",
               12),
         "overlap");
  expect(Bytes(R"({"t": {"dtype": "F32", "shape": [2]}})", 8), "lacks");
}

std::vector<std::vector<uint8_t>> Corpus(const std::string& kind) {
  std::vector<std::vector<uint8_t>> out;
  for (const auto& e :
       std::filesystem::directory_iterator(std::string(SEEKD_FUZZ_CORPUS) + "/" + kind)) {
    std::ifstream in(e.path(), std::ios::binary);
    out.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return out;
}

// The fuzzers' seeds parse, and thousands of damaged copies give errors or in-bounds results.
TEST(FuzzSeedsTest, SeedsParseAndDamageNeverCrashes) {
  std::mt19937 rng(5);
  for (const std::string kind : {"gguf", "safetensors"}) {
    const auto seeds = Corpus(kind);
    ASSERT_FALSE(seeds.empty()) << kind;
    for (const auto& seed : seeds) {
      if (kind == "gguf") {
        auto f = GgufFile::FromBytes(seed);
        ASSERT_TRUE(f.ok()) << f.status().ToString();
        EXPECT_TRUE(DescribeGguf(*f).ok() || f->Find("general.architecture") == nullptr);
      } else {
        ASSERT_TRUE(SafetensorsFile::FromBytes(seed).ok());
      }
      for (int iter = 0; iter < 2000; ++iter) {
        auto b = seed;
        if (iter % 3 == 0) b.resize(rng() % (b.size() + 1));
        for (int k = 0; k < 1 + iter % 5 && !b.empty(); ++k)
          b[rng() % b.size()] = static_cast<uint8_t>(rng());
        if (kind == "gguf") {
          auto f = GgufFile::FromBytes(b);
          if (f.ok()) (void)DescribeGguf(*f);
        } else {
          (void)SafetensorsFile::FromBytes(b);
        }
      }
    }
  }
}

TEST(HfNamesTest, MapsToGgufNames) {
  EXPECT_EQ(GgufNameFromHf("model.layers.12.self_attn.q_proj.weight"), "blk.12.attn_q.weight");
  EXPECT_EQ(GgufNameFromHf("model.layers.0.self_attn.k_proj.bias"), "blk.0.attn_k.bias");
  EXPECT_EQ(GgufNameFromHf("model.layers.3.mlp.down_proj.weight"), "blk.3.ffn_down.weight");
  EXPECT_EQ(GgufNameFromHf("model.layers.3.self_attn.kv_a_proj_with_mqa.weight"),
            "blk.3.attn_kv_a_mqa.weight");
  EXPECT_EQ(GgufNameFromHf("model.layers.5.mlp.experts.17.up_proj.weight"),
            "blk.5.ffn_up_exps.17.weight");
  EXPECT_EQ(GgufNameFromHf("model.layers.5.mlp.shared_experts.gate_proj.weight"),
            "blk.5.ffn_gate_shexp.weight");
  EXPECT_EQ(GgufNameFromHf("model.embed_tokens.weight"), "token_embd.weight");
  EXPECT_EQ(GgufNameFromHf("lm_head.weight"), "output.weight");
  EXPECT_EQ(GgufNameFromHf("something.else"), "something.else");
}

}  // namespace
}  // namespace seekd::model
