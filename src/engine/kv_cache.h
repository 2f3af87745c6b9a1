// The KV cache as one pool of fixed-size blocks allocated at start (ARCHITECTURE: never grown
// per request). A block holds `block_size` consecutive positions of one sequence for every
// layer. Sequences own block tables; full blocks are content-hashed, chained with everything
// before them, so a later request with the same prefix reuses them by reference count; blocks
// nobody references stay cached and are evicted least-recently-used when memory runs out.
//
// Thread-safety: none — the engine loop owns the pool, the arena and the sequences.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "model/forward.h"
#include "model/llm.h"

namespace seekd::engine {

// f32 memory: [layer][K | V][kv head][block][offset][head_dim], one slab per layer, K or V and
// head, with the blocks side by side in it. A decode tile reads one slab, and the blocks the
// pool hands out in order (0, 1, 2, …) make one run: a long sequence's keys of one head and layer
// are one linear stream rather than a 2 KB piece per block (docs/BENCHMARKS.md, "Decode
// attention: one stream per KV head"). 8-bit memory has the same slabs of int8 rows
// [layer][K|V][head][block][offset][head_dim], then slabs of their scales, one per group of
// KvQuantGroup(head_dim) values: [layer][K|V][head][block][offset][head_dim / group] f32.
class KvArena {
 public:
  // int8: rows stored as int8 with one f32 scale per 32 values (about 28% of f32).
  KvArena(const model::LlmConfig& c, int32_t n_blocks, int32_t block_size, bool int8 = false);
  int32_t n_blocks() const { return n_blocks_; }
  int32_t block_size() const { return block_size_; }
  bool int8() const { return int8_; }
  uint64_t bytes() const { return static_cast<uint64_t>(n_blocks_) * block_bytes_; }
  // Bytes one block takes: what `--kv-cache-mem` is divided by.
  static uint64_t BlockBytes(const model::LlmConfig& c, int32_t block_size, bool int8 = false);
  // Copies one block's K/V, every layer and head (copy-on-write of a shared block).
  void CopyBlock(int32_t dst, int32_t src);

  // Head 0's slice; head g's is head_stride() floats further.
  float* K(int32_t block, int64_t layer, int32_t offset) { return F32(block, layer, 0, offset); }
  float* V(int32_t block, int64_t layer, int32_t offset) { return F32(block, layer, 1, offset); }
  // Values (floats, or int8) from head g's slab to head g + 1's; for 8-bit scales,
  // scale_head_stride() floats.
  int64_t head_stride() const { return static_cast<int64_t>(n_blocks_) * block_size_ * head_dim_; }
  int64_t scale_head_stride() const {
    return static_cast<int64_t>(n_blocks_) * block_size_ * head_groups_;
  }
  int8_t* K8(int32_t block, int64_t layer, int32_t offset, float** scales) {
    return Q8(block, layer, 0, offset, scales);
  }
  int8_t* V8(int32_t block, int64_t layer, int32_t offset, float** scales) {
    return Q8(block, layer, 1, offset, scales);
  }

 private:
  uint64_t RowIndex(int64_t layer, int kv, int32_t offset) const {
    return (static_cast<uint64_t>(layer) * 2 + kv) * block_size_ + offset;
  }
  float* F32(int32_t block, int64_t layer, int kv, int32_t offset) {
    const uint64_t slab = static_cast<uint64_t>(layer * 2 + kv) * n_head_kv_;  // head 0's
    return reinterpret_cast<float*>(data_.get()) +
           ((slab * n_blocks_ + block) * block_size_ + offset) * head_dim_;
  }
  // Head 0's int8 row and its scales: the int8 slabs, then (from n_blocks · rows_per_block ·
  // row bytes on) the scale slabs.
  int8_t* Q8(int32_t block, int64_t layer, int kv, int32_t offset, float** scales) {
    const uint64_t slab = static_cast<uint64_t>(layer * 2 + kv) * n_head_kv_;
    const uint64_t r = (slab * n_blocks_ + block) * block_size_ + offset;  // row in its slab
    auto* scale_base = reinterpret_cast<float*>(data_.get() + static_cast<uint64_t>(n_blocks_) *
                                                                  rows_per_block_ * row_);
    *scales = scale_base + r * head_groups_;
    return reinterpret_cast<int8_t*>(data_.get()) + r * head_dim_;
  }
  int32_t n_blocks_, block_size_;
  int64_t n_head_kv_, head_dim_, head_groups_;
  bool int8_;
  uint64_t row_, groups_, rows_per_block_, block_bytes_;
  std::unique_ptr<uint8_t[]> data_;  // uninitialised: pages are touched as blocks are first used
};

// Content hash of a full block: the previous block's hash chained with this block's tokens.
uint64_t ChainHash(uint64_t prev, std::span<const int32_t> tokens);

class BlockPool {
 public:
  BlockPool(int32_t n_blocks, int32_t block_size);

  int32_t n_blocks() const { return static_cast<int32_t>(ref_.size()); }
  int32_t block_size() const { return block_size_; }
  // Blocks Allocate can still return: never-used or freed ones plus cached unreferenced ones.
  int32_t n_available() const { return static_cast<int32_t>(free_.size() + lru_.size()); }
  int32_t n_cached_idle() const { return static_cast<int32_t>(lru_.size()); }
  int32_t n_in_use() const { return n_blocks() - n_available(); }

  // A block with reference count 1; when nothing is free, the least recently used cached
  // block is evicted (its hash forgotten). nullopt when every block is referenced.
  std::optional<int32_t> Allocate();
  void Retain(int32_t block);   // one more reference (a sequence sharing it)
  void Release(int32_t block);  // at zero: cached if it has a hash, else free
  int32_t refs(int32_t block) const { return ref_[static_cast<size_t>(block)]; }

  // Marks a full block as holding `tokens` after the prefix whose chain hash leads to `hash`.
  // If another block already holds that content, the pool keeps the first.
  void Publish(int32_t block, uint64_t hash, std::span<const int32_t> tokens);
  // The cached block for this hash and these exact tokens (hash collisions are checked), with
  // one more reference; nullopt on a miss.
  std::optional<int32_t> Lookup(uint64_t hash, std::span<const int32_t> tokens);
  // Forgets a block's content hash (its holder is about to change it in place).
  void Unpublish(int32_t block) { Forget(block); }
  bool published(int32_t block) const { return cached_[static_cast<size_t>(block)].valid; }

  // Every block is exactly one of: referenced, cached idle, free; reference counts are
  // non-negative; the hash map and LRU list agree. Tests call it after stress runs.
  Status CheckInvariants() const;

 private:
  struct Cached {
    uint64_t hash = 0;
    std::vector<int32_t> tokens;
    bool valid = false;
  };
  void Forget(int32_t block);

  int32_t block_size_;
  std::vector<int32_t> ref_;
  std::vector<Cached> cached_;
  std::vector<int32_t> free_;                          // never hashed, unreferenced
  std::list<int32_t> lru_;                             // hashed, unreferenced; front = oldest
  std::vector<std::list<int32_t>::iterator> lru_pos_;  // valid while in lru_
  std::vector<bool> in_lru_;
  std::unordered_map<uint64_t, int32_t> by_hash_;
};

// One sequence's view of the arena through its block table (what Forward writes and reads).
class PagedSeq final : public model::KvStore {
 public:
  // arena may be null for bookkeeping without memory (scheduler tests); K/V then must not be used.
  PagedSeq(KvArena* arena, int32_t block_size) : arena_(arena), block_size_(block_size) {}
  std::vector<int32_t>& blocks() { return blocks_; }
  const std::vector<int32_t>& blocks() const { return blocks_; }
  int64_t capacity() const override { return static_cast<int64_t>(blocks_.size()) * block_size_; }
  int64_t head_stride() const override { return arena_ != nullptr ? arena_->head_stride() : 0; }
  int64_t scale_head_stride() const override {
    return arena_ != nullptr ? arena_->scale_head_stride() : 0;
  }
  float* K(int64_t layer, int64_t pos, int64_t* run) override;
  float* V(int64_t layer, int64_t pos, int64_t* run) override;
  bool int8() const override { return arena_ != nullptr && arena_->int8(); }
  int8_t* K8(int64_t layer, int64_t pos, int64_t* run, float** scales) override;
  int8_t* V8(int64_t layer, int64_t pos, int64_t* run, float** scales) override;

 private:
  // Positions from pos on that follow it in memory: the rest of its block, then each next block
  // of the table that is also the arena's next block (same slabs, adjacent).
  int64_t Run(int64_t pos) const;

  KvArena* arena_;
  int32_t block_size_;
  std::vector<int32_t> blocks_;
};

}  // namespace seekd::engine
