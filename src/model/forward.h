// One forward pass over a batch of tokens that may belong to several sequences: each weight
// matrix is applied once to all tokens of the step (model/arch/dense.cc for llama-family
// decoders). Keys and values go to a per-sequence KvStore; a token attends to its sequence's
// positions 0 … pos, which must already be stored or be earlier tokens of this batch.
//
// Thread-safety: a Forward owns scratch buffers; use one per engine loop. It runs its matrix
// products and attention on the pool passed in.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/matmul.h"
#include "core/status.h"
#include "core/thread_pool.h"
#include "model/llm.h"

namespace seekd::model {

// Where a sequence's keys and values live, after RoPE. f32 stores keep each KV head's rows
// apart: K(layer, pos) is head 0's head_dim floats at pos, head g's are head_stride() floats
// further, and a run's positions follow each other head_dim floats apart. A decode tile reads
// one head, so every line it streams is its own; with the heads side by side in one row, half of
// each line pair the memory system fetched belonged to the other head (docs/BENCHMARKS.md,
// "Decode attention: one stream per KV head").
// Values per scale in an 8-bit K/V row: blocks of 32 (like Q8_0), or whole heads when the
// head size is not a multiple of 32.
inline int64_t KvQuantGroup(int64_t head_dim) { return head_dim % 32 == 0 ? 32 : head_dim; }

class KvStore {
 public:
  virtual ~KvStore() = default;
  virtual int64_t capacity() const = 0;  // positions it can hold
  // Head 0's slice at (layer, pos); *run receives how many positions from pos on follow it.
  virtual float* K(int64_t layer, int64_t pos, int64_t* run) = 0;
  virtual float* V(int64_t layer, int64_t pos, int64_t* run) = 0;
  // Values (floats, or int8 in 8-bit stores) from head g's slice of K or V to head g + 1's at
  // the same position.
  virtual int64_t head_stride() const = 0;
  // 8-bit stores: head 0's head_dim int8 at (layer, pos) with one float scale per group of
  // KvQuantGroup(head_dim) values (value = q · scale); K/V are then not used. *scales receives
  // its scales; a run's rows follow each other head_dim bytes apart, their scales
  // head_dim / group floats apart; head g's are head_stride() bytes and scale_head_stride()
  // floats further.
  virtual int64_t scale_head_stride() const { return 0; }
  virtual bool int8() const { return false; }
  virtual int8_t* K8(int64_t layer, int64_t pos, int64_t* run, float** scales) { return nullptr; }
  virtual int8_t* V8(int64_t layer, int64_t pos, int64_t* run, float** scales) { return nullptr; }
};

// The simplest store: one contiguous f32 array per sequence, pages touched as positions fill.
class ContiguousKv final : public KvStore {
 public:
  ContiguousKv(const LlmConfig& c, int64_t n_ctx);
  int64_t capacity() const override { return n_ctx_; }
  float* K(int64_t layer, int64_t pos, int64_t* run) override;
  float* V(int64_t layer, int64_t pos, int64_t* run) override;
  int64_t head_stride() const override { return n_ctx_ * head_dim_; }
  uint64_t bytes() const {
    return 2 * static_cast<uint64_t>(n_layer_ * n_head_kv_ * n_ctx_ * head_dim_) * 4;
  }

 private:
  int64_t n_layer_, n_ctx_, n_head_kv_, head_dim_;
  std::unique_ptr<float[]> k_, v_;  // [layer][head][pos][head_dim]
};

struct BatchToken {
  int32_t token = 0;
  int64_t pos = 0;
  int32_t seq = 0;  // index into the sequences passed to Run
  bool want_logits = false;
};

class Forward {
 public:
  Forward(const Llm& llm, ThreadPool& pool, const kernels::Kernels& k = kernels::Active());

  // Runs the batch; logits receives one row of n_vocab per token with want_logits, in batch
  // order. Errors (token id out of range, position beyond a store's capacity, bad sequence
  // index) leave every store as it was.
  Status Run(std::span<const BatchToken> batch, std::span<KvStore* const> seqs,
             std::vector<float>* logits);

  // Rotates the keys at positions [from, from + count) of every layer back by `delta`
  // positions (RoPE is a rotation, so R(p − delta) = R(−delta)·R(p)): a streaming window
  // dropped `delta` positions before them. f32 stores only.
  void ShiftKeys(KvStore* kv, int64_t from, int64_t count, int64_t delta);

  const Llm& llm() const { return llm_; }
  const kernels::Kernels& kernels() const { return k_; }

 private:
  void PlanAttention(std::span<const BatchToken> batch, std::span<KvStore* const> seqs);
  void Attention(int64_t layer, std::span<const BatchToken> batch, std::span<KvStore* const> seqs);
  void AttendTile(int64_t layer, size_t tile, std::span<const BatchToken> batch,
                  std::span<KvStore* const> seqs, int thread);
  void DequantizeHead(int64_t layer, int64_t g, int64_t n, KvStore* kv, std::vector<float>* k_out,
                      std::vector<float>* v_out);
  void RopeTables(std::span<const BatchToken> batch);
  void ApplyRope(float* x, int64_t n_heads, int64_t t) const;
  // One token's key and value rows [n_head_kv · head_dim] into its sequence's store at its
  // position (8-bit stores quantize them). Tokens of one batch write disjoint rows.
  static void StoreKv(const LlmConfig& c, int64_t layer, const BatchToken& b,
                      std::span<KvStore* const> seqs, const float* k, const float* v);

  const Llm& llm_;
  ThreadPool& pool_;
  const kernels::Kernels& k_;
  MatMulScratch mm_;
  // Activations for the current batch, [n_tokens, width] each.
  std::vector<float> x_, h_, q_, kx_, vx_, att_, tmp_, gate_, up_;
  std::vector<float> cos_, sin_;  // [n_tokens, n_rot / 2]
  // Attention work for the current batch: tiles of query rows (kernels::AttnTile) that share a
  // sequence and a KV head, largest first.
  struct AttnRow {
    int32_t token, head;
  };
  struct AttnWork {
    int32_t seq, kv_head, row0, n_rows;
    int64_t max_vis;
  };
  std::vector<AttnRow> attn_rows_;
  std::vector<AttnWork> attn_tiles_;
  struct AttnScratch {
    std::vector<float> f, kf, vf;  // kernel scratch; an 8-bit head's K and V as f32
    std::vector<const float*> k, v, q, k8_scale, v8_scale;
    std::vector<const int8_t*> k8, v8;
    std::vector<float*> out;
    std::vector<int64_t> run, n_vis;
  };
  std::vector<AttnScratch> attn_scratch_;  // per pool thread
};

}  // namespace seekd::model
