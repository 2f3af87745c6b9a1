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

// Everything format-independent must agree: hyper-parameters, tensor names, shapes, types.
void ExpectSameDescription(const ModelDescription& a, const ModelDescription& b) {
  EXPECT_EQ(a.architecture, b.architecture);
  const HyperParams &x = a.hp, &y = b.hp;
  EXPECT_EQ(x.n_ctx_train, y.n_ctx_train);
  EXPECT_EQ(x.n_embd, y.n_embd);
  EXPECT_EQ(x.n_layer, y.n_layer);
  EXPECT_EQ(x.n_head, y.n_head);
  EXPECT_EQ(x.n_head_kv, y.n_head_kv);
  EXPECT_EQ(x.n_ff, y.n_ff);
  EXPECT_EQ(x.n_vocab, y.n_vocab);
  EXPECT_FLOAT_EQ(static_cast<float>(x.rms_eps), static_cast<float>(y.rms_eps));
  EXPECT_EQ(x.head_dim_k, y.head_dim_k);
  EXPECT_EQ(x.head_dim_v, y.head_dim_v);
  EXPECT_EQ(x.rope_dims, y.rope_dims);
  EXPECT_EQ(x.rope_theta, y.rope_theta);
  EXPECT_EQ(x.rope_scaling, y.rope_scaling);
  EXPECT_FLOAT_EQ(static_cast<float>(x.rope_scaling_factor),
                  static_cast<float>(y.rope_scaling_factor));
  EXPECT_EQ(x.rope_orig_ctx, y.rope_orig_ctx);
  EXPECT_FLOAT_EQ(static_cast<float>(x.yarn_log_multiplier),
                  static_cast<float>(y.yarn_log_multiplier));
  EXPECT_EQ(x.n_expert, y.n_expert);
  EXPECT_EQ(x.n_expert_used, y.n_expert_used);
  EXPECT_EQ(x.n_expert_shared, y.n_expert_shared);
  EXPECT_EQ(x.n_ff_expert, y.n_ff_expert);
  EXPECT_EQ(x.n_leading_dense, y.n_leading_dense);
  EXPECT_FLOAT_EQ(static_cast<float>(x.expert_weights_scale),
                  static_cast<float>(y.expert_weights_scale));
  EXPECT_EQ(x.expert_weights_norm, y.expert_weights_norm);
  EXPECT_EQ(x.expert_gating, y.expert_gating);
  EXPECT_EQ(x.q_lora_rank, y.q_lora_rank);
  EXPECT_EQ(x.kv_lora_rank, y.kv_lora_rank);
  EXPECT_EQ(x.qk_nope_dim, y.qk_nope_dim);
  EXPECT_EQ(x.qk_rope_dim, y.qk_rope_dim);
  EXPECT_EQ(x.v_head_dim, y.v_head_dim);
  EXPECT_EQ(x.tied_embeddings, y.tied_embeddings);
  EXPECT_EQ(x.attention_bias, y.attention_bias);
  EXPECT_EQ(a.ParameterCount(), b.ParameterCount());
  std::map<std::string, std::pair<std::vector<int64_t>, DType>> sa, sb;
  for (const auto& t : a.tensors) sa[t.name] = {t.shape, t.dtype};
  for (const auto& t : b.tensors) sb[t.name] = {t.shape, t.dtype};
  EXPECT_EQ(sa, sb);
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

  ExpectSameDescription(*a, *b);
  EXPECT_EQ(a->hp.attention_bias, arch == "qwen2");
}

INSTANTIATE_TEST_SUITE_P(Archs, DescribeTest, ::testing::Values("llama", "qwen2"));

// The HF checkpoint of a tiny DeepSeek-V3-style model: per-expert tensors and kv_b_proj, which
// llama.cpp's converter stacks and splits. Zero weights: only names, shapes and types matter.
std::vector<SafetensorsWriterTensor> DeepseekHfTensors(const TinyModelSpec& s) {
  const auto I = [](uint64_t v) { return static_cast<int64_t>(v); };
  const int64_t D = I(s.n_embd), V = I(s.n_vocab), H = I(s.n_head), F = I(s.n_ff);
  const int64_t QK = I(s.qk_nope_dim + s.qk_rope_dim), KVL = I(s.kv_lora_rank);
  const int64_t QL = I(s.q_lora_rank), FE = I(s.n_ff_expert), NE = I(s.n_expert);
  const int64_t SH = FE * I(s.n_expert_shared);
  std::vector<std::pair<std::string, std::vector<int64_t>>> v = {
      {"model.embed_tokens.weight", {V, D}},
      {"model.norm.weight", {D}},
      {"lm_head.weight", {V, D}}};
  for (uint64_t i = 0; i < s.n_layer; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    v.insert(v.end(),
             {{p + "input_layernorm.weight", {D}},
              {p + "self_attn.q_a_proj.weight", {QL, D}},
              {p + "self_attn.q_a_layernorm.weight", {QL}},
              {p + "self_attn.q_b_proj.weight", {H * QK, QL}},
              {p + "self_attn.kv_a_proj_with_mqa.weight", {KVL + I(s.qk_rope_dim), D}},
              {p + "self_attn.kv_a_layernorm.weight", {KVL}},
              {p + "self_attn.kv_b_proj.weight", {H * I(s.qk_nope_dim + s.v_head_dim), KVL}},
              {p + "self_attn.o_proj.weight", {D, H * I(s.v_head_dim)}},
              {p + "post_attention_layernorm.weight", {D}}});
    if (i < s.n_leading_dense) {
      v.insert(v.end(), {{p + "mlp.gate_proj.weight", {F, D}},
                         {p + "mlp.up_proj.weight", {F, D}},
                         {p + "mlp.down_proj.weight", {D, F}}});
      continue;
    }
    v.insert(v.end(), {{p + "mlp.gate.weight", {NE, D}},
                       {p + "mlp.gate.e_score_correction_bias", {NE}},
                       {p + "mlp.shared_experts.gate_proj.weight", {SH, D}},
                       {p + "mlp.shared_experts.up_proj.weight", {SH, D}},
                       {p + "mlp.shared_experts.down_proj.weight", {D, SH}}});
    for (int64_t e = NE - 1; e >= 0; --e) {  // any order: the reader sorts them out
      const std::string x = p + "mlp.experts." + std::to_string(e) + ".";
      v.insert(v.end(), {{x + "gate_proj.weight", {FE, D}},
                         {x + "up_proj.weight", {FE, D}},
                         {x + "down_proj.weight", {D, FE}}});
    }
  }
  std::vector<SafetensorsWriterTensor> ts;
  for (auto& [name, shape] : v) {
    int64_t n = 1;
    for (auto d : shape) n *= d;
    ts.push_back({name, "F32", shape, std::vector<uint8_t>(static_cast<size_t>(n) * 4, 0)});
  }
  return ts;
}

TEST(DescribeDeepSeekTest, GgufAndHfFolderDescribeTheSameModel) {
  TinyModelSpec spec;
  spec.arch = "deepseek2";
  spec.weights = "f32";
  spec.n_vocab = 64;
  spec.n_layer = 3;
  GgufWriter w;
  ASSERT_TRUE(WriteTinyModel(spec, &w).ok());
  auto bytes = w.ToBytes();
  auto gguf = GgufFile::FromBytes(bytes);
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  auto a = DescribeGguf(*gguf);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  // The file stores llama.cpp's MQA view of MLA; the description is the model's attention.
  EXPECT_EQ(gguf->GetUInt("deepseek2.attention.head_count_kv").value(), 1u);
  EXPECT_EQ(a->hp.n_head_kv, 4u);
  EXPECT_EQ(a->hp.head_dim_k, 64u);
  ASSERT_NE(gguf->FindTensor("blk.2.ffn_down_exps.weight"), nullptr);
  EXPECT_EQ(gguf->FindTensor("blk.2.ffn_down_exps.weight")->shape,
            (std::vector<int64_t>{256, 256, 4}));

  const fs::path dir = fs::temp_directory_path() / ("seekd_hf_ds" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json")
      << R"({"architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3",
           "hidden_size": 256, "num_hidden_layers": 3, "num_attention_heads": 4,
           "num_key_value_heads": 4, "intermediate_size": 512, "vocab_size": 64,
           "max_position_embeddings": 4096, "rms_norm_eps": 1e-06, "rope_theta": 10000.0,
           "tie_word_embeddings": false, "q_lora_rank": 128, "kv_lora_rank": 64,
           "qk_nope_head_dim": 32, "qk_rope_head_dim": 32, "v_head_dim": 32,
           "n_routed_experts": 4, "num_experts_per_tok": 2, "n_shared_experts": 1,
           "moe_intermediate_size": 256, "first_k_dense_replace": 1, "scoring_func": "sigmoid",
           "norm_topk_prob": true, "routed_scaling_factor": 2.5, "topk_method": "noaux_tc",
           "rope_scaling": {"type": "yarn", "factor": 40, "original_max_position_embeddings": 4096,
                            "beta_fast": 32, "beta_slow": 1, "mscale": 1.0,
                            "mscale_all_dim": 1.0}})";
  ASSERT_TRUE(WriteSafetensors((dir / "model.safetensors").string(), DeepseekHfTensors(spec)).ok());
  auto b = DescribeHfFolder(dir.string());
  fs::remove_all(dir);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ExpectSameDescription(*a, *b);
  EXPECT_EQ(a->hp.rope_scaling, "yarn");
  EXPECT_FALSE(a->hp.attention_bias);
}

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

TEST(DescribeDeepSeekTest, TinyQ4KMModelHasLlamaCppTypeMix) {
  TinyModelSpec spec;
  spec.arch = "deepseek2";
  spec.q_lora_rank = 0;  // V2-Lite style: a plain attn_q
  spec.sigmoid_gating = false;
  GgufWriter w;
  ASSERT_TRUE(WriteTinyModel(spec, &w).ok());
  auto bytes = w.ToBytes();
  auto f = GgufFile::FromBytes(bytes);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  auto type = [&](const char* name) {
    const GgufTensorInfo* t = f->FindTensor(name);
    return t ? t->dtype : DType::kI64;  // kI64: absent
  };
  EXPECT_EQ(type("blk.1.attn_q.weight"), DType::kQ4_K);
  EXPECT_EQ(type("blk.1.attn_q_a.weight"), DType::kI64);
  EXPECT_EQ(type("blk.1.exp_probs_b.bias"), DType::kI64);
  EXPECT_EQ(type("blk.1.ffn_gate_inp.weight"), DType::kF32);  // routers stay f32
  EXPECT_EQ(type("blk.1.attn_k_b.weight"), DType::kQ5_0);     // row of 32: legacy fallback
  EXPECT_EQ(type("blk.1.ffn_down_exps.weight"), DType::kQ6_K);
  EXPECT_EQ(type("blk.0.ffn_down.weight"),
            DType::kQ4_K);  // n_layer 2: only the last gets more bits
  auto d = DescribeGguf(*f);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->hp.q_lora_rank, 0u);
  EXPECT_EQ(d->hp.expert_gating, "softmax");
  EXPECT_EQ(d->hp.n_ff_expert, 256u);

  spec.kv_lora_rank = 0;
  GgufWriter bad;
  EXPECT_EQ(WriteTinyModel(spec, &bad).code(), StatusCode::kInvalidArgument);
}

// config.json and tensor names are untrusted: absurd dims and expert indices leave the table as
// it is (no stacking or splitting), never overflow or throw.
TEST(DescribeDeepSeekTest, HostileConfigAndExpertNamesAreHarmless) {
  const fs::path dir = fs::temp_directory_path() / ("seekd_hf_bad" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::ofstream(dir / "config.json")
      << R"({"model_type": "deepseek_v2", "hidden_size": 8, "num_attention_heads": 4611686018427387904,
           "kv_lora_rank": 9223372036854775807, "qk_nope_head_dim": 4611686018427387904,
           "v_head_dim": 4611686018427387904, "q_lora_rank": null})";
  std::vector<SafetensorsWriterTensor> ts = {
      {"model.layers.0.self_attn.kv_b_proj.weight", "F32", {4, 2}, std::vector<uint8_t>(32)},
      {"model.layers.0.mlp.experts.99999999999999999999999.up_proj.weight",
       "F32",
       {2},
       std::vector<uint8_t>(8)},
      {"model.layers.0.mlp.experts.1.up_proj.weight", "F32", {2}, std::vector<uint8_t>(8)},
  };
  ASSERT_TRUE(WriteSafetensors((dir / "model.safetensors").string(), ts).ok());
  auto d = DescribeHfFolder(dir.string());
  fs::remove_all(dir);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  std::vector<std::string> names;
  for (const auto& t : d->tensors) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"blk.0.attn_kv_b.weight", "blk.0.ffn_up_exps.1.weight",
                                             "blk.0.ffn_up_exps.99999999999999999999999.weight"}));
}

}  // namespace
}  // namespace seekd::model
