#include "engine/kv_cache.h"

#include <algorithm>
#include <cstring>

namespace seekd::engine {

KvArena::KvArena(const model::LlmConfig& c, int32_t n_blocks, int32_t block_size, bool int8)
    : n_blocks_(n_blocks),
      block_size_(block_size),
      n_head_kv_(c.n_head_kv),
      head_dim_(c.head_dim),
      head_groups_(c.head_dim / model::KvQuantGroup(c.head_dim)),
      int8_(int8),
      row_(static_cast<uint64_t>(c.n_head_kv * c.head_dim)),
      groups_(static_cast<uint64_t>(c.n_head_kv * c.head_dim / model::KvQuantGroup(c.head_dim))),
      rows_per_block_(static_cast<uint64_t>(c.n_layer) * 2 * block_size),
      block_bytes_(BlockBytes(c, block_size, int8)),
      data_(new uint8_t[static_cast<size_t>(n_blocks) * block_bytes_]) {}

uint64_t KvArena::BlockBytes(const model::LlmConfig& c, int32_t block_size, bool int8) {
  const uint64_t rows = static_cast<uint64_t>(c.n_layer) * 2 * block_size;
  const uint64_t row = static_cast<uint64_t>(c.n_head_kv * c.head_dim);
  // Rows of int8 plus a scale per group, rounded to keep the next block's floats aligned.
  const uint64_t groups = row / static_cast<uint64_t>(model::KvQuantGroup(c.head_dim));
  return int8 ? (rows * (row + 4 * groups) + 63) / 64 * 64 : rows * row * 4;
}

uint64_t ChainHash(uint64_t prev, std::span<const int32_t> tokens) {
  // 64-bit mix (splitmix64 finalizer per token); collisions are also ruled out by comparing
  // tokens on lookup, so the hash only has to spread well.
  uint64_t h = prev ^ 0x9e3779b97f4a7c15ull;
  for (int32_t t : tokens) {
    uint64_t z = h + 0x9e3779b97f4a7c15ull + static_cast<uint32_t>(t);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    h = z ^ (z >> 31);
  }
  return h;
}

BlockPool::BlockPool(int32_t n_blocks, int32_t block_size)
    : block_size_(block_size),
      ref_(static_cast<size_t>(n_blocks), 0),
      cached_(static_cast<size_t>(n_blocks)),
      lru_pos_(static_cast<size_t>(n_blocks)),
      in_lru_(static_cast<size_t>(n_blocks), false) {
  free_.reserve(static_cast<size_t>(n_blocks));
  for (int32_t b = n_blocks - 1; b >= 0; --b) free_.push_back(b);  // hand out 0, 1, 2, …
}

void KvArena::CopyBlock(int32_t dst, int32_t src) {
  const int64_t n_slabs = static_cast<int64_t>(rows_per_block_ / block_size_) * n_head_kv_;
  // A block's piece of one slab: its values (4 or 1 bytes each), then for 8-bit its scales.
  const uint64_t value_bytes = static_cast<uint64_t>(block_size_) * head_dim_ * (int8_ ? 1 : 4);
  const uint64_t scale_bytes = static_cast<uint64_t>(block_size_) * head_groups_ * 4;
  uint8_t* scales = data_.get() + static_cast<uint64_t>(n_blocks_) * rows_per_block_ * row_;
  for (int64_t s = 0; s < n_slabs; ++s) {  // s = (layer · 2 + kv) · n_head_kv + head
    uint8_t* slab = data_.get() + s * n_blocks_ * value_bytes;
    std::memcpy(slab + dst * value_bytes, slab + src * value_bytes, value_bytes);
    if (!int8_) continue;
    uint8_t* sslab = scales + s * n_blocks_ * scale_bytes;
    std::memcpy(sslab + dst * scale_bytes, sslab + src * scale_bytes, scale_bytes);
  }
}

void BlockPool::Forget(int32_t b) {
  Cached& c = cached_[static_cast<size_t>(b)];
  if (!c.valid) return;
  auto it = by_hash_.find(c.hash);
  if (it != by_hash_.end() && it->second == b) by_hash_.erase(it);
  c = Cached{};
}

std::optional<int32_t> BlockPool::Allocate() {
  int32_t b;
  if (!free_.empty()) {
    b = free_.back();
    free_.pop_back();
  } else if (!lru_.empty()) {
    b = lru_.front();  // evict the least recently used cached block
    lru_.pop_front();
    in_lru_[static_cast<size_t>(b)] = false;
    Forget(b);
  } else {
    return std::nullopt;
  }
  ref_[static_cast<size_t>(b)] = 1;
  return b;
}

void BlockPool::Retain(int32_t b) {
  const auto i = static_cast<size_t>(b);
  if (in_lru_[i]) {  // an idle cached block comes back into use
    lru_.erase(lru_pos_[i]);
    in_lru_[i] = false;
  }
  ++ref_[i];
}

void BlockPool::Release(int32_t b) {
  const auto i = static_cast<size_t>(b);
  SEEKD_CHECK(ref_[i] > 0);
  if (--ref_[i] > 0) return;
  if (cached_[i].valid) {
    lru_pos_[i] = lru_.insert(lru_.end(), b);
    in_lru_[i] = true;
  } else {
    free_.push_back(b);
  }
}

void BlockPool::Publish(int32_t b, uint64_t hash, std::span<const int32_t> tokens) {
  if (by_hash_.count(hash)) return;  // same content already cached in another block
  Cached& c = cached_[static_cast<size_t>(b)];
  if (c.valid) Forget(b);
  c.hash = hash;
  c.tokens.assign(tokens.begin(), tokens.end());
  c.valid = true;
  by_hash_[hash] = b;
}

std::optional<int32_t> BlockPool::Lookup(uint64_t hash, std::span<const int32_t> tokens) {
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return std::nullopt;
  const Cached& c = cached_[static_cast<size_t>(it->second)];
  if (!std::equal(c.tokens.begin(), c.tokens.end(), tokens.begin(), tokens.end()))
    return std::nullopt;
  Retain(it->second);
  return it->second;
}

Status BlockPool::CheckInvariants() const {
  const size_t n = ref_.size();
  std::vector<int> seen(n, 0);
  for (int32_t b : free_) {
    if (ref_[static_cast<size_t>(b)] != 0 || cached_[static_cast<size_t>(b)].valid)
      return Internal("free block " + std::to_string(b) + " is referenced or hashed");
    ++seen[static_cast<size_t>(b)];
  }
  for (int32_t b : lru_) {
    if (ref_[static_cast<size_t>(b)] != 0 || !cached_[static_cast<size_t>(b)].valid ||
        !in_lru_[static_cast<size_t>(b)])
      return Internal("cached idle block " + std::to_string(b) + " is inconsistent");
    ++seen[static_cast<size_t>(b)];
  }
  for (size_t b = 0; b < n; ++b) {
    if (ref_[b] < 0) return Internal("negative reference count");
    if (ref_[b] > 0) ++seen[b];
    if (seen[b] != 1)
      return Internal("block " + std::to_string(b) + " is in " + std::to_string(seen[b]) +
                      " states");
  }
  for (const auto& [h, b] : by_hash_)
    if (!cached_[static_cast<size_t>(b)].valid || cached_[static_cast<size_t>(b)].hash != h)
      return Internal("hash map names a block that does not hold that hash");
  return Status::Ok();
}

int64_t PagedSeq::Run(int64_t pos) const {
  auto i = static_cast<size_t>(pos / block_size_);
  int64_t run = block_size_ - pos % block_size_;
  for (; i + 1 < blocks_.size() && blocks_[i + 1] == blocks_[i] + 1; ++i) run += block_size_;
  return run;
}

float* PagedSeq::K(int64_t layer, int64_t pos, int64_t* run) {
  const int32_t bs = block_size_;
  if (run) *run = Run(pos);
  return arena_->K(blocks_[static_cast<size_t>(pos / bs)], layer, static_cast<int32_t>(pos % bs));
}

int8_t* PagedSeq::K8(int64_t layer, int64_t pos, int64_t* run, float** scales) {
  const int32_t bs = block_size_;
  if (run) *run = Run(pos);
  return arena_->K8(blocks_[static_cast<size_t>(pos / bs)], layer, static_cast<int32_t>(pos % bs),
                    scales);
}

int8_t* PagedSeq::V8(int64_t layer, int64_t pos, int64_t* run, float** scales) {
  const int32_t bs = block_size_;
  if (run) *run = Run(pos);
  return arena_->V8(blocks_[static_cast<size_t>(pos / bs)], layer, static_cast<int32_t>(pos % bs),
                    scales);
}

float* PagedSeq::V(int64_t layer, int64_t pos, int64_t* run) {
  const int32_t bs = block_size_;
  if (run) *run = Run(pos);
  return arena_->V(blocks_[static_cast<size_t>(pos / bs)], layer, static_cast<int32_t>(pos % bs));
}

}  // namespace seekd::engine
