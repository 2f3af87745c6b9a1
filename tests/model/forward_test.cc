// The forward pass against the plain reference (tests/model/reference_forward.h) on generated
// models of each architecture and weight type, on every ISA this CPU has; batch invariance;
// Hugging Face folders against the equivalent GGUF; bad batches refused.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/fp16.h"
#include "model/forward.h"
#include "model/safetensors.h"
#include "model/tiny_model.h"
#include "reference_forward.h"

namespace seekd::model {
namespace {

namespace fs = std::filesystem;

// bf16 weights on a vdpbf16ps table round every matrix input to bf16 (at most 2^-9 of itself).
// Against the exact reference that measured 1.4–1.7% of the largest logit on these models
// (8-bit blocks: 4–6%); against the one emulating the rounding 0.4–0.7%, from rounding flips as
// with 8-bit blocks. Allowed: 5% and 2%, about three times what was measured and below the
// 8-bit figures.
constexpr double kBf16ImplTol = 2e-2, kBf16Tol = 5e-2;

struct Case {
  std::string arch, weights;
  bool tied = false;
  // Largest |seekd − reference| logit difference allowed, as a share of max |reference logit|.
  // f32-activation types (f32, f16, bf16 weights): float vs double rounding only → 1e-4.
  // 8-bit activations (q8_0, q4_0, q4_k_m): each matrix input moves by up to 1/254 of its
  // block's largest value; through two random layers and the output product that measured
  // 4–6% of the largest logit on these models, so 10% (the same order as the weights' own
  // 4-bit rounding, which both sides share).
  double tol;
  std::string rope_scaling = "none";  // with factor 4 and an original context of 32
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.arch << "/" << c.weights << (c.tied ? "/tied" : "") << "/rope " << c.rope_scaling;
}

std::string Name(const ::testing::TestParamInfo<Case>& i) {
  return i.param.arch + "_" + i.param.weights + (i.param.tied ? "_tied" : "") +
         (i.param.rope_scaling != "none" ? "_rope_" + i.param.rope_scaling : "");
}

TinyModelSpec Spec(const Case& c) {
  TinyModelSpec s;
  s.arch = c.arch;
  s.weights = c.weights;
  s.tied_embeddings = c.tied;
  s.n_vocab = 512;
  s.n_embd = 256;
  s.n_head = 4;
  s.n_head_kv = 2;
  s.n_ff = 512;
  s.n_layer = 2;
  s.n_ctx = 256;
  s.init_std = 0.08;  // wide enough logits that a greedy choice is not a near-tie
  s.seed = 42;
  s.rope_scaling = c.rope_scaling;
  s.rope_factor = 4.0;
  s.rope_orig_ctx = 32;  // short, so the 76 positions run past it and every branch matters
  return s;
}

std::string WriteModel(const TinyModelSpec& s, const std::string& tag) {
  GgufWriter w;
  EXPECT_TRUE(WriteTinyModel(s, &w).ok());
  const std::string path =
      (fs::temp_directory_path() / ("seekd_fwd_" + tag + std::to_string(::getpid()) + ".gguf"))
          .string();
  EXPECT_TRUE(w.Write(path).ok());
  return path;
}

const std::vector<int32_t> kPrompt = {1, 17, 300, 42, 42, 7, 511, 0, 99, 128, 256, 3};

// Prefill the prompt as one batch, then greedy-decode n tokens; returns tokens and the logits of
// every step (prompt's last token first).
void RunSeekd(Forward& fwd, int n, std::vector<int32_t>* tokens,
              std::vector<std::vector<float>>* step_logits) {
  const LlmConfig& c = fwd.llm().config();
  ContiguousKv kv(c, 256);
  KvStore* seqs[] = {&kv};
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < kPrompt.size(); ++i)
    batch.push_back({kPrompt[i], static_cast<int64_t>(i), 0, i + 1 == kPrompt.size()});
  std::vector<float> logits;
  ASSERT_TRUE(fwd.Run(batch, seqs, &logits).ok());
  int64_t pos = static_cast<int64_t>(kPrompt.size());
  for (int i = 0; i < n; ++i) {
    step_logits->push_back(logits);
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    tokens->push_back(next);
    const BatchToken bt{next, pos++, 0, true};
    ASSERT_TRUE(fwd.Run({&bt, 1}, seqs, &logits).ok());
  }
}

class ForwardVsReference : public ::testing::TestWithParam<Case> {};

// The reference fed the prompt and then `tokens` (teacher forcing): logits before each token.
std::vector<std::vector<double>> ReferenceSteps(testing::ReferenceLlm& ref,
                                                const std::vector<int32_t>& tokens) {
  std::vector<std::vector<double>> steps;
  std::vector<double> logits;
  for (int32_t t : kPrompt) logits = ref.Step(t);
  for (int32_t t : tokens) {
    steps.push_back(logits);
    logits = ref.Step(t);
  }
  return steps;
}

// Largest |a − b| over steps as a share of max |b| in that step.
double WorstRelError(const std::vector<std::vector<float>>& a,
                     const std::vector<std::vector<double>>& b) {
  double worst = 0;
  for (size_t s = 0; s < std::min(a.size(), b.size()); ++s) {
    double mx = 0, diff = 0;
    for (size_t v = 0; v < b[s].size(); ++v) {
      mx = std::max(mx, std::fabs(b[s][v]));
      diff = std::max(diff, std::fabs(b[s][v] - a[s][v]));
    }
    worst = std::max(worst, diff / mx);
  }
  return worst;
}

// Steps where seekd's greedy token is not the reference's argmax; each must be a near-tie (the
// reference's own margin below `tie` · max|logit|) or the test fails.
int GreedyMismatches(const std::vector<int32_t>& tokens,
                     const std::vector<std::vector<double>>& ref, double tie) {
  int n = 0;
  for (size_t s = 0; s < tokens.size(); ++s) {
    const auto& r = ref[s];
    const size_t best = static_cast<size_t>(std::max_element(r.begin(), r.end()) - r.begin());
    if (best == static_cast<size_t>(tokens[s])) continue;
    ++n;
    double mx = 0;
    for (double v : r) mx = std::max(mx, std::fabs(v));
    EXPECT_LE(r[best] - r[static_cast<size_t>(tokens[s])], tie * mx)
        << "step " << s << ": seekd chose " << tokens[s] << ", the reference " << best;
  }
  return n;
}

// Two references, both teacher-forced on seekd's greedy tokens. The exact one (no activation
// rounding) bounds the total error of seekd's arithmetic. The one that rounds matrix inputs to
// 8-bit blocks as seekd's quantized kernels do isolates the implementation: logits agree to
// float precision except after a rounding flip (an activation within one float ulp of a
// rounding boundary lands on the other side in double: one step of that block), and greedy
// choices are the reference's own except at a near-tie of that size. For f32/f16/bf16 weights
// the references coincide and no mismatch at all is allowed.
TEST_P(ForwardVsReference, LogitsAgreeAndGreedyContinuationsAreIdentical) {
  const Case& c = GetParam();
  const bool float_acts = c.tol < 1e-3;
  const std::string path = WriteModel(Spec(c), Name({c, 0}));
  auto llm = LoadLlm(path);
  ASSERT_TRUE(llm.ok()) << llm.status().ToString();
  ThreadPool pool(2);
  for (kernels::Isa isa : kernels::AvailableIsas()) {
    Forward fwd(**llm, pool, kernels::KernelsFor(isa));
    std::vector<int32_t> tokens;
    std::vector<std::vector<float>> steps;
    RunSeekd(fwd, 64, &tokens, &steps);
    ASSERT_EQ(tokens.size(), 64u);

    // bf16 weights on a vdpbf16ps table: matrix inputs rounded to bf16 (2^-9 relative at
    // most), an 8-bit-like rounding with 256 steps per octave instead of 127 per block.
    const bool bf16_acts = c.weights == "bf16" &&
                           kernels::KernelsFor(isa).packed[static_cast<int>(DType::kBF16)].act ==
                               kernels::ActFormat::kBF16;
    testing::ReferenceLlm emulated(path, /*emulate_q8=*/true, bf16_acts), exact(path);
    ASSERT_TRUE(emulated.ok() && exact.ok());
    const auto emu_steps = ReferenceSteps(emulated, tokens);
    const auto exact_steps = ReferenceSteps(exact, tokens);
    const double impl_err = WorstRelError(steps, emu_steps);
    const double total_err = WorstRelError(steps, exact_steps);
    const bool exact_acts = float_acts && !bf16_acts;
    const double impl_tol = exact_acts ? 1e-4 : bf16_acts ? kBf16ImplTol : 5e-2;
    const double tol = bf16_acts ? kBf16Tol : c.tol;
    EXPECT_LE(impl_err, impl_tol) << kernels::IsaName(isa);
    EXPECT_LE(total_err, tol) << kernels::IsaName(isa);
    const int mismatches = GreedyMismatches(tokens, emu_steps, impl_tol);
    if (exact_acts) {
      EXPECT_EQ(mismatches, 0) << kernels::IsaName(isa);
    }
    std::printf(
        "  %-7s vs emulating reference %.1e, vs exact %.1e (tolerance %.0e); "
        "near-tie greedy differences %d/64\n",
        std::string(kernels::IsaName(isa)).c_str(), impl_err, total_err, tol, mismatches);
  }
  fs::remove(path);
}

INSTANTIATE_TEST_SUITE_P(
    Models, ForwardVsReference,
    ::testing::Values(Case{"llama", "f32", false, 1e-4}, Case{"llama", "f16", false, 1e-4},
                      Case{"llama", "bf16", false, 1e-4}, Case{"llama", "q8_0", false, 0.1},
                      Case{"llama", "q4_0", false, 0.1}, Case{"llama", "q4_k_m", false, 0.1},
                      Case{"llama", "q8_0", true, 0.1}, Case{"qwen2", "f32", false, 1e-4},
                      Case{"qwen2", "f16", false, 1e-4}, Case{"qwen2", "bf16", false, 1e-4},
                      Case{"qwen2", "q8_0", false, 0.1}, Case{"qwen2", "q4_0", false, 0.1},
                      Case{"qwen2", "q4_k_m", false, 0.1},
                      Case{"llama", "f32", false, 1e-4, "linear"},
                      Case{"llama", "f32", false, 1e-4, "llama3"},
                      Case{"qwen2", "f32", false, 1e-4, "yarn"},
                      Case{"llama", "f16", false, 1e-4, "yarn"}),
    Name);

// A token's logits do not depend on what else is in the batch: prefill as one batch, token by
// token, and interleaved with another sequence all give the same bits.
TEST(Forward, BatchInvariance) {
  const std::string path = WriteModel(Spec({"qwen2", "q4_k_m", false, 0}), "inv");
  auto llm = LoadLlm(path);
  ASSERT_TRUE(llm.ok()) << llm.status().ToString();
  ThreadPool pool(2);
  Forward fwd(**llm, pool);
  const LlmConfig& c = (*llm)->config();
  const int64_t V = c.n_vocab;

  ContiguousKv a(c, 64);
  KvStore* one[] = {&a};
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < kPrompt.size(); ++i)
    batch.push_back({kPrompt[i], static_cast<int64_t>(i), 0, true});
  std::vector<float> together;
  ASSERT_TRUE(fwd.Run(batch, one, &together).ok());

  ContiguousKv b(c, 64);
  KvStore* one_b[] = {&b};
  std::vector<float> alone, logits;
  for (const BatchToken& bt : batch) {
    ASSERT_TRUE(fwd.Run({&bt, 1}, one_b, &logits).ok());
    alone.insert(alone.end(), logits.begin(), logits.end());
  }
  EXPECT_EQ(together, alone);

  // Interleave the prompt with a second, different sequence in one batch.
  ContiguousKv c1(c, 64), c2(c, 64);
  KvStore* two[] = {&c1, &c2};
  std::vector<BatchToken> mixed;
  for (size_t i = 0; i < kPrompt.size(); ++i) {
    mixed.push_back({kPrompt[i], static_cast<int64_t>(i), 0, true});
    mixed.push_back(
        {static_cast<int32_t>((kPrompt[i] * 7 + 3) % V), static_cast<int64_t>(i), 1, false});
  }
  std::vector<float> interleaved;
  ASSERT_TRUE(fwd.Run(mixed, two, &interleaved).ok());
  EXPECT_EQ(interleaved, together);
  fs::remove(path);
}

TEST(Forward, BadBatchesAreRefusedWithoutTouchingTheCache) {
  const std::string path = WriteModel(Spec({"llama", "q8_0", false, 0}), "bad");
  auto llm = LoadLlm(path);
  ASSERT_TRUE(llm.ok());
  ThreadPool pool(1);
  Forward fwd(**llm, pool);
  ContiguousKv kv((*llm)->config(), 8);
  KvStore* seqs[] = {&kv};
  std::vector<float> logits;
  const BatchToken bad_token{512, 0, 0, true}, bad_pos{1, 8, 0, true}, bad_seq{1, 0, 1, true};
  EXPECT_EQ(fwd.Run({&bad_token, 1}, seqs, &logits).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fwd.Run({&bad_pos, 1}, seqs, &logits).code(), StatusCode::kOutOfRange);
  EXPECT_EQ(fwd.Run({&bad_seq, 1}, seqs, &logits).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(fwd.Run({}, seqs, &logits).code(), StatusCode::kInvalidArgument);
  fs::remove(path);
}

TEST(Forward, CorruptOrForeignModelsFailToLoadWithAReason) {
  TinyModelSpec s = Spec({"llama", "q8_0", false, 0});
  GgufWriter w;
  ASSERT_TRUE(WriteTinyModel(s, &w).ok());
  auto bytes = w.ToBytes();
  // Truncated: the reader refuses before the loader sees it.
  const std::string path =
      (fs::temp_directory_path() / ("seekd_trunc" + std::to_string(::getpid()))).string();
  {
    std::ofstream out(path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size() / 2));
  }
  auto r = LoadLlm(path);
  EXPECT_FALSE(r.ok());
  // An architecture seekd describes but does not run yet.
  TinyModelSpec ds;
  ds.arch = "deepseek2";
  const std::string dpath = WriteModel(ds, "ds");
  auto d = LoadLlm(dpath);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("deepseek2"), std::string::npos) << d.status().ToString();
  fs::remove(path);
  fs::remove(dpath);
}

// ---- Hugging Face folders -------------------------------------------------------------------

// Random weights written twice: as a Hugging Face folder (PyTorch names, [out, in], q/k rows in
// rotate-half order) and as the GGUF llama.cpp's converter would make of it (q/k rows permuted
// to adjacent pairs for llama). Both load to the same function.
struct HfPair {
  std::string dir, gguf;
};

// gguf_quant: the GGUF's matrices (not the embedding) quantized offline to that type.
HfPair WriteHfAndGguf(const std::string& arch, const std::string& dtype, const std::string& tag,
                      DType gguf_quant = DType::kF32) {
  const int E = 256, H = 4, Hkv = 2, hd = 64, F = 512, V = 512, L = 2;
  std::mt19937 rng(9);
  std::normal_distribution<float> dist(0.0f, 0.08f);
  std::vector<SafetensorsWriterTensor> hf;
  GgufWriter g;
  g.Set("general.architecture", GgufValue::String(arch));
  g.Set(arch + ".context_length", GgufValue::U32(256));
  g.Set(arch + ".embedding_length", GgufValue::U32(E));
  g.Set(arch + ".block_count", GgufValue::U32(L));
  g.Set(arch + ".feed_forward_length", GgufValue::U32(F));
  g.Set(arch + ".attention.head_count", GgufValue::U32(H));
  g.Set(arch + ".attention.head_count_kv", GgufValue::U32(Hkv));
  g.Set(arch + ".rope.freq_base", GgufValue::F32(10000.0f));
  g.Set(arch + ".attention.layer_norm_rms_epsilon", GgufValue::F32(1e-6f));
  g.Set(arch + ".vocab_size", GgufValue::U32(V));
  auto add = [&](const std::string& hf_name, const std::string& gguf_name,
                 std::vector<int64_t> torch_shape, bool norm, int permute_heads) {
    int64_t n = 1;
    for (auto d : torch_shape) n *= d;
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x) v = norm ? 1.0f + dist(rng) : dist(rng);
    // Stored values are what the file's dtype can hold; both files get the same values.
    std::vector<uint8_t> hb;
    for (auto& v : x) {
      if (dtype == "F16") {
        const uint16_t h = F32ToF16(v);
        v = F16ToF32(h);
        hb.push_back(static_cast<uint8_t>(h & 0xff));
        hb.push_back(static_cast<uint8_t>(h >> 8));
      } else if (dtype == "BF16") {
        const uint16_t h = F32ToBf16(v);
        v = Bf16ToF32(h);
        hb.push_back(static_cast<uint8_t>(h & 0xff));
        hb.push_back(static_cast<uint8_t>(h >> 8));
      } else {
        const auto* p = reinterpret_cast<const uint8_t*>(&v);
        hb.insert(hb.end(), p, p + 4);
      }
    }
    hf.push_back({hf_name, dtype, torch_shape, hb});
    std::vector<float> gx = x;
    if (permute_heads > 0) {  // GGUF row (2i + s) of a head = HF row (s·hd/2 + i)
      const int64_t cols = torch_shape[1];
      for (int h = 0; h < permute_heads; ++h)
        for (int i = 0; i < hd / 2; ++i)
          for (int s = 0; s < 2; ++s)
            std::copy_n(x.begin() + (h * hd + s * hd / 2 + i) * cols, cols,
                        gx.begin() + (h * hd + 2 * i + s) * cols);
    }
    std::vector<int64_t> ne(torch_shape.rbegin(), torch_shape.rend());
    const DType gt = ne.size() == 2 && gguf_name != "token_embd.weight" ? gguf_quant : DType::kF32;
    std::vector<uint8_t> gb(RowBytes(gt, static_cast<uint64_t>(ne[0])).value() *
                            static_cast<uint64_t>(n / ne[0]));
    EXPECT_TRUE(Quantize(gt, gx.data(), gb.data(), n).ok());
    EXPECT_TRUE(g.AddTensor(gguf_name, gt, ne, gb).ok());
  };
  const bool llama = arch == "llama";
  add("model.embed_tokens.weight", "token_embd.weight", {V, E}, false, 0);
  for (int l = 0; l < L; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".",
                      b = "blk." + std::to_string(l) + ".";
    add(p + "input_layernorm.weight", b + "attn_norm.weight", {E}, true, 0);
    add(p + "self_attn.q_proj.weight", b + "attn_q.weight", {H * hd, E}, false, llama ? H : 0);
    add(p + "self_attn.k_proj.weight", b + "attn_k.weight", {Hkv * hd, E}, false, llama ? Hkv : 0);
    add(p + "self_attn.v_proj.weight", b + "attn_v.weight", {Hkv * hd, E}, false, 0);
    if (!llama) {
      add(p + "self_attn.q_proj.bias", b + "attn_q.bias", {H * hd}, false, 0);
      add(p + "self_attn.k_proj.bias", b + "attn_k.bias", {Hkv * hd}, false, 0);
      add(p + "self_attn.v_proj.bias", b + "attn_v.bias", {Hkv * hd}, false, 0);
    }
    add(p + "self_attn.o_proj.weight", b + "attn_output.weight", {E, H * hd}, false, 0);
    add(p + "post_attention_layernorm.weight", b + "ffn_norm.weight", {E}, true, 0);
    add(p + "mlp.gate_proj.weight", b + "ffn_gate.weight", {F, E}, false, 0);
    add(p + "mlp.up_proj.weight", b + "ffn_up.weight", {F, E}, false, 0);
    add(p + "mlp.down_proj.weight", b + "ffn_down.weight", {E, F}, false, 0);
  }
  add("model.norm.weight", "output_norm.weight", {E}, true, 0);
  add("lm_head.weight", "output.weight", {V, E}, false, 0);

  HfPair out;
  out.dir =
      (fs::temp_directory_path() / ("seekd_hfrun_" + tag + std::to_string(::getpid()))).string();
  fs::create_directories(out.dir);
  std::ofstream(out.dir + "/config.json")
      << R"({"architectures": [")" << (llama ? "LlamaForCausalLM" : "Qwen2ForCausalLM")
      << R"("], "model_type": ")" << arch << R"(", "hidden_size": 256, "num_hidden_layers": 2,
          "num_attention_heads": 4, "num_key_value_heads": 2, "intermediate_size": 512,
          "vocab_size": 512, "max_position_embeddings": 256, "rms_norm_eps": 1e-6,
          "rope_theta": 10000.0, "tie_word_embeddings": false})";
  EXPECT_TRUE(WriteSafetensors(out.dir + "/model.safetensors", hf).ok());
  out.gguf = out.dir + ".gguf";
  EXPECT_TRUE(g.Write(out.gguf).ok());
  return out;
}

std::vector<float> PromptLogits(const Llm& llm) {
  ThreadPool pool(2);
  Forward fwd(llm, pool);
  ContiguousKv kv(llm.config(), 64);
  KvStore* seqs[] = {&kv};
  std::vector<BatchToken> batch;
  for (size_t i = 0; i < kPrompt.size(); ++i)
    batch.push_back({kPrompt[i], static_cast<int64_t>(i), 0, true});
  std::vector<float> logits;
  EXPECT_TRUE(fwd.Run(batch, seqs, &logits).ok());
  return logits;
}

double MaxRelDiff(const std::vector<float>& a, const std::vector<float>& b) {
  double mx = 0, diff = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    mx = std::max(mx, static_cast<double>(std::fabs(a[i])));
    diff = std::max(diff, static_cast<double>(std::fabs(a[i] - b[i])));
  }
  return diff / mx;
}

TEST(Forward, HuggingFaceFoldersRunLikeTheirGguf) {
  for (const std::string arch : {"llama", "qwen2"}) {
    for (const std::string dtype : {"F32", "F16", "BF16"}) {
      const HfPair p = WriteHfAndGguf(arch, dtype, arch + dtype);
      auto hf = LoadLlm(p.dir);
      ASSERT_TRUE(hf.ok()) << hf.status().ToString();
      auto gg = LoadLlm(p.gguf);
      ASSERT_TRUE(gg.ok()) << gg.status().ToString();
      EXPECT_EQ((*hf)->config().rope.layout, ops::RopeLayout::kNeox);
      EXPECT_EQ((*gg)->config().rope.layout,
                arch == "llama" ? ops::RopeLayout::kNorm : ops::RopeLayout::kNeox);
      EXPECT_LT((*hf)->converted_bytes(), 64u * 1024) << "matrices must stay mapped";
      EXPECT_EQ((*hf)->weights().layers[0].wq.dtype, dtype == "F32"   ? DType::kF32
                                                     : dtype == "F16" ? DType::kF16
                                                                      : DType::kBF16);
      const auto a = PromptLogits(**hf), b = PromptLogits(**gg);
      ASSERT_EQ(a.size(), b.size());
      // bf16 inputs rounded for vdpbf16ps: the folders' float differences (llama's rotate-half
      // against permuted rows) flip a few roundings, as against the emulating reference.
      const bool bf16_acts =
          dtype == "BF16" &&
          kernels::Active().packed[static_cast<int>(DType::kBF16)].act == kernels::ActFormat::kBF16;
      EXPECT_LE(MaxRelDiff(a, b), bf16_acts ? kBf16ImplTol : 1e-5) << arch << " " << dtype;
      fs::remove_all(p.dir);
      fs::remove(p.gguf);
    }
  }
}

// Dynamic quantization at load gives the model an offline quantizer would have written: the
// same weight bytes, so the same logits (llama's rotate-half vs permuted pairs only reorders
// float sums; an 8-bit activation rounding flip from that is one quantization step, hence the
// 5% bound there, and exact equality for qwen2).
TEST(Forward, QuantizingAtLoadEqualsQuantizingOffline) {
  for (const std::string arch : {"llama", "qwen2"}) {
    for (DType q : {DType::kQ8_0, DType::kQ4_K}) {
      const HfPair p = WriteHfAndGguf(arch, "BF16", arch + "q", q);
      LoadOptions opt;
      opt.quant = q;
      auto hq = LoadLlm(p.dir, opt);
      ASSERT_TRUE(hq.ok()) << hq.status().ToString();
      EXPECT_EQ((*hq)->weights().layers[1].w_down.dtype, q);
      EXPECT_EQ((*hq)->weights().output.dtype, q);
      EXPECT_EQ((*hq)->weights().token_embd.dtype, DType::kBF16) << "lookup rows stay as stored";
      EXPECT_GT((*hq)->converted_bytes(), 100u * 1024);
      auto gq = LoadLlm(p.gguf);
      ASSERT_TRUE(gq.ok()) << gq.status().ToString();
      const auto& a = (*hq)->weights().layers[0].w_gate;
      const auto& b = (*gq)->weights().layers[0].w_gate;
      EXPECT_EQ(0, std::memcmp(a.data, b.data, a.row_bytes * a.n_rows)) << arch;
      const double diff = MaxRelDiff(PromptLogits(**hq), PromptLogits(**gq));
      if (arch == "qwen2") {
        EXPECT_EQ(diff, 0.0) << DTypeName(q);
      } else {
        EXPECT_LE(diff, 5e-2) << DTypeName(q);
      }
      fs::remove_all(p.dir);
      fs::remove(p.gguf);
    }
  }
}

}  // namespace
}  // namespace seekd::model
