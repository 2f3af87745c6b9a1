// ModelDescription: the same tiny model written as GGUF (llama.cpp layout) and as a Hugging Face
// folder (config.json + safetensors, HF names and [out, in] shapes) describes identically.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "model/gguf.h"
#include "model/model_desc.h"
#include "model/safetensors.h"
#include "model/tiny_model.h"

namespace seekd::model {
namespace {

namespace fs = std::filesystem;

// HF names of one layer in the order WriteTinyModel writes their GGUF counterparts.
std::vector<std::string> HfNames(const std::string& arch, uint64_t n_layer) {
  std::vector<std::string> v = {"model.embed_tokens.weight"};
  for (uint64_t i = 0; i < n_layer; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    for (const char* s : {"input_layernorm.weight", "self_attn.q_proj.weight",
                          "self_attn.k_proj.weight", "self_attn.v_proj.weight"})
      v.push_back(p + s);
    if (arch == "qwen2")
      for (const char* s :
           {"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias"})
        v.push_back(p + s);
    for (const char* s : {"self_attn.o_proj.weight", "post_attention_layernorm.weight",
                          "mlp.gate_proj.weight", "mlp.up_proj.weight", "mlp.down_proj.weight"})
      v.push_back(p + s);
  }
  v.push_back("model.norm.weight");
  v.push_back("lm_head.weight");
  return v;
}

class DescribeTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DescribeTest, GgufAndHfFolderDescribeTheSameModel) {
  const std::string arch = GetParam();
  TinyModelSpec spec;
  spec.arch = arch;
  spec.weights = "f32";
  spec.n_vocab = 64;
  spec.n_layer = 2;
  GgufWriter w;
  ASSERT_TRUE(WriteTinyModel(spec, &w).ok());
  auto bytes = w.ToBytes();
  auto gguf = GgufFile::FromBytes(bytes);
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  auto a = DescribeGguf(*gguf);
  ASSERT_TRUE(a.ok()) << a.status().ToString();

  const fs::path dir =
      fs::temp_directory_path() / ("seekd_hf_" + arch + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json")
      << R"({"model_type": ")" << arch << R"(", "hidden_size": 256, "num_hidden_layers": 2,
           "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512,
           "vocab_size": 64, "max_position_embeddings": 4096, "rms_norm_eps": 1e-06,
           "rope_theta": 10000.0, "tie_word_embeddings": false})";
  std::vector<SafetensorsWriterTensor> ts;
  const auto names = HfNames(arch, 2);
  ASSERT_EQ(names.size(), gguf->tensors().size());
  for (size_t i = 0; i < names.size(); ++i) {
    const auto& t = gguf->tensors()[i];
    ASSERT_EQ(GgufNameFromHf(names[i]), t.name);
    std::vector<int64_t> shape(t.shape.rbegin(), t.shape.rend());  // ne → PyTorch order
    auto data = gguf->TensorData(t);
    ts.push_back({names[i], "F32", shape, {data.begin(), data.end()}});
  }
  ASSERT_TRUE(WriteSafetensors((dir / "model.safetensors").string(), ts).ok());
  auto b = DescribeHfFolder(dir.string());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  fs::remove_all(dir);

  EXPECT_EQ(a->architecture, b->architecture);
  const HyperParams &x = a->hp, &y = b->hp;
  EXPECT_EQ(x.n_ctx_train, y.n_ctx_train);
  EXPECT_EQ(x.n_embd, y.n_embd);
  EXPECT_EQ(x.n_layer, y.n_layer);
  EXPECT_EQ(x.n_head, y.n_head);
  EXPECT_EQ(x.n_head_kv, y.n_head_kv);
  EXPECT_EQ(x.n_ff, y.n_ff);
  EXPECT_EQ(x.n_vocab, y.n_vocab);
  EXPECT_FLOAT_EQ(static_cast<float>(x.rms_eps), static_cast<float>(y.rms_eps));
  EXPECT_EQ(x.head_dim_k, y.head_dim_k);
  EXPECT_EQ(x.rope_dims, y.rope_dims);
  EXPECT_EQ(x.rope_theta, y.rope_theta);
  EXPECT_EQ(x.tied_embeddings, y.tied_embeddings);
  EXPECT_EQ(a->ParameterCount(), b->ParameterCount());
  std::map<std::string, std::vector<int64_t>> sa, sb;
  for (const auto& t : a->tensors) sa[t.name] = t.shape;
  for (const auto& t : b->tensors) sb[t.name] = t.shape;
  EXPECT_EQ(sa, sb);
}

INSTANTIATE_TEST_SUITE_P(Archs, DescribeTest, ::testing::Values("llama", "qwen2"));

TEST(DescribeDeepSeekTest, Deepseek2KeysAndConfig) {
  GgufWriter w;
  w.Set("general.architecture", GgufValue::String("deepseek2"));
  const std::string a = "deepseek2.";
  w.Set(a + "block_count", GgufValue::U32(61));
  w.Set(a + "embedding_length", GgufValue::U32(7168));
  w.Set(a + "attention.head_count", GgufValue::U32(128));
  w.Set(a + "attention.head_count_kv", GgufValue::U32(1));
  w.Set(a + "attention.key_length", GgufValue::U32(576));
  w.Set(a + "attention.value_length", GgufValue::U32(512));
  w.Set(a + "attention.key_length_mla", GgufValue::U32(192));
  w.Set(a + "attention.value_length_mla", GgufValue::U32(128));
  w.Set(a + "rope.dimension_count", GgufValue::U32(64));
  w.Set(a + "attention.q_lora_rank", GgufValue::U32(1536));
  w.Set(a + "attention.kv_lora_rank", GgufValue::U32(512));
  w.Set(a + "expert_count", GgufValue::U32(256));
  w.Set(a + "expert_used_count", GgufValue::U32(8));
  w.Set(a + "expert_shared_count", GgufValue::U32(1));
  w.Set(a + "leading_dense_block_count", GgufValue::U32(3));
  w.Set(a + "expert_gating_func", GgufValue::U32(2));
  w.Set(a + "expert_weights_norm", GgufValue::Bool(true));
  w.Set(a + "expert_weights_scale", GgufValue::F32(2.5f));
  w.Set(a + "rope.scaling.type", GgufValue::String("yarn"));
  w.Set(a + "rope.scaling.factor", GgufValue::F32(40.0f));
  auto bytes = w.ToBytes();
  auto d = DescribeGguf(*GgufFile::FromBytes(bytes));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->hp.qk_nope_dim, 128u);
  EXPECT_EQ(d->hp.qk_rope_dim, 64u);
  EXPECT_EQ(d->hp.v_head_dim, 128u);
  EXPECT_EQ(d->hp.expert_gating, "sigmoid");
  EXPECT_TRUE(d->hp.expert_weights_norm);
  EXPECT_EQ(d->hp.rope_scaling, "yarn");
  EXPECT_EQ(d->hp.n_leading_dense, 3u);

  // A wrongly typed key is an error naming it, not a silent default.
  GgufWriter bad;
  bad.Set("general.architecture", GgufValue::String("llama"));
  bad.Set("llama.block_count", GgufValue::String("many"));
  auto bb = bad.ToBytes();
  auto e = DescribeGguf(*GgufFile::FromBytes(bb));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("llama.block_count"), std::string::npos);
}

}  // namespace
}  // namespace seekd::model
