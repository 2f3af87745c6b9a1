// A loaded decoder-only language model ready to run: its configuration (filled by the
// architecture's registry entry, model/arch/registry.h) and views of its weights. GGUF weights
// in a type with a kernel are used in place from the memory map (no copy); safetensors weights
// in F32/F16/BF16 likewise; anything converted at load (`quant`, 1-D tensors stored as 16-bit)
// is owned and counted in converted_bytes() — except a `quant` conversion the packed-weight
// cache serves packed: that matrix is never converted, and its view has packed bytes only
// (data is null).
//
// Thread-safety: immutable after LoadLlm (but for the packed-weight cache's status, which
// has its own lock); share it between threads and forward passes.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/matmul.h"
#include "core/ops.h"
#include "core/status.h"
#include "model/model_desc.h"

namespace seekd::model {

struct RopeConfig {
  int64_t n_rot = 0;  // rotated dims per head
  double theta = 10000.0;
  ops::RopeLayout layout = ops::RopeLayout::kNorm;
  double freq_scale = 1.0;  // 1 / factor for linear and YaRN scaling
  // YaRN (ext_factor > 0): dims whose wavelength exceeds the original context interpolate,
  // fast dims extrapolate, a ramp between; cos/sin gain by 1 + 0.1·ln(factor).
  double ext_factor = 0.0;
  double attn_factor = 1.0;
  double beta_fast = 32.0, beta_slow = 1.0;
  int64_t orig_ctx = 0;
  // Per-pair frequency divisors (llama3 scaling; GGUF's rope_freqs.weight), empty if none.
  std::vector<float> freq_factors;
};

struct LlmConfig {
  std::string arch;
  int64_t n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, head_dim = 0, n_ff = 0;
  int64_t n_vocab = 0, n_ctx_train = 0;
  float rms_eps = 1e-6f;
  RopeConfig rope;
};

struct LayerWeights {
  const float* attn_norm = nullptr;  // [n_embd]
  MatrixView wq, wk, wv, wo;  // [n_embd → n_head·hd], [→ n_kv·hd] ×2, [n_head·hd → n_embd]
  const float* bq = nullptr;  // optional biases (qwen2)
  const float* bk = nullptr;
  const float* bv = nullptr;
  const float* ffn_norm = nullptr;
  MatrixView w_gate, w_up, w_down;  // [n_embd → n_ff] ×2, [n_ff → n_embd]
};

struct LlmWeights {
  MatrixView token_embd;  // [n_vocab rows of n_embd]
  std::vector<LayerWeights> layers;
  const float* output_norm = nullptr;
  MatrixView output;  // token_embd when tied
};

struct LoadOptions {
  // Re-quantize every matrix (not the embedding's lookup rows, which stay as stored) to this
  // type at load: dynamic quantization of F16/BF16/F32 checkpoints.
  std::optional<DType> quant;
  // Called with the fraction of tensors prepared, 0 … 1.
  std::function<void(double)> progress;
  // Repack matrices for the active kernels' packed GEMM where it has one (Q8_0, Q4_0, Q4_K on
  // AVX-512 VNNI): a copy of those weights, built once, in exchange for a tiled int8 GEMM.
  bool repack = true;
  // Folder of the packed-weight disk cache (model/pack_cache.h): a second load maps the
  // packed copy instead of repacking. Empty: no cache (the library's default; the CLI's is
  // DefaultPackCacheDir()). Entries beyond pack_cache_max_bytes are evicted, oldest use first.
  std::string pack_cache_dir;
  uint64_t pack_cache_max_bytes = uint64_t{64} << 30;
};

// What the packed-weight cache did at load.
struct PackCacheStatus {
  // "off" (no folder, no packed matrix, or not from files), "hit" (mapped from the cache),
  // "writing" (packed to memory, being stored by a background thread), "written" (stored),
  // "unavailable" (packed to memory, not stored; `reason` says why).
  std::string state = "off";
  std::string file;    // the cache file, when hit or written
  std::string reason;  // why a file was not used or could not be written
};

class Llm {
 public:
  Llm() = default;
  ~Llm();  // waits for a packed-weight cache write in progress (FinishPackCache)
  Llm(const Llm&) = delete;
  Llm& operator=(const Llm&) = delete;

  const LlmConfig& config() const { return config_; }
  const LlmWeights& weights() const { return weights_; }
  const ModelDescription& description() const { return desc_; }
  // Bytes of weights one decode step streams: every matrix but the embedding (one row of it).
  uint64_t StreamedBytesPerToken() const;
  // Bytes the loader allocated (conversions); the rest is the file mapping.
  uint64_t converted_bytes() const { return converted_bytes_; }
  // Bytes of repacked copies (LoadOptions::repack); their file pages are released after packing.
  uint64_t packed_bytes() const { return packed_bytes_; }
  PackCacheStatus pack_cache() const;
  // Blocks until a background cache write (state "writing") has finished; returns at once
  // otherwise. Benchmarks call it so the write does not compete with what they measure.
  void FinishPackCache();
  // Multiply-adds per token of a forward pass (matrices only), for GFLOP/s figures.
  uint64_t MatMulMacsPerToken() const;
  // Matrix multiply-adds of `tokens` computed tokens of which `logit_tokens` want logits (the
  // output matrix runs only for those).
  double MatMulMacs(int64_t tokens, int64_t logit_tokens) const;

 private:
  friend class LlmBuilder;
  LlmConfig config_;
  LlmWeights weights_;
  ModelDescription desc_;
  std::vector<std::shared_ptr<const void>> keep_alive_;  // mapped files
  std::vector<std::vector<uint8_t>> owned_;
  std::vector<std::shared_ptr<uint8_t>> packed_;  // 64-byte aligned
  uint64_t converted_bytes_ = 0, packed_bytes_ = 0;
  mutable std::mutex pack_mu_;
  PackCacheStatus pack_cache_;  // guarded by pack_mu_
  std::thread pack_writer_;     // stores the packed copy to the cache after load
};

// Loads a GGUF file or a Hugging Face folder (config.json + safetensors) whose architecture is
// registered. Errors name the file and the missing or malformed tensor.
Result<std::unique_ptr<Llm>> LoadLlm(const std::string& path, const LoadOptions& options = {});

}  // namespace seekd::model
