// Loading a registered architecture from GGUF or a Hugging Face folder into an Llm: tensor
// lookup, shape checks, conversion at load where asked or needed.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <numbers>
#include <thread>

#include "core/kernels/kernels.h"
#include "core/quant.h"
#include "model/arch/registry.h"
#include "model/gguf.h"
#include "model/llm.h"
#include "model/pack_cache.h"
#include "model/safetensors.h"

namespace seekd::model {

// One tensor as the loader sees it, whatever the file format.
struct RawTensor {
  DType dtype;
  std::vector<int64_t> shape;  // ne0 first
  std::span<const uint8_t> bytes;
};

class LlmBuilder {
 public:
  LlmBuilder(Llm* llm, const LoadOptions& opt) : llm_(llm), opt_(opt) {}

  Status Build(const std::map<std::string, RawTensor>& tensors, const ArchInfo& arch,
               bool from_gguf);
  void SetDescription(ModelDescription d) { llm_->desc_ = std::move(d); }
  void KeepAlive(std::shared_ptr<const void> p) { llm_->keep_alive_.push_back(std::move(p)); }
  // The files the weights come from (the packed-weight cache's key).
  void SetSources(std::vector<std::string> files) { sources_ = std::move(files); }

 private:
  Result<MatrixView> Matrix(const std::string& name, int64_t n_cols, int64_t n_rows,
                            bool convert = true);
  Result<const float*> Vector(const std::string& name, int64_t n, bool optional = false);
  Status FillConfig(const ArchInfo& arch, bool from_gguf);
  // The weight matrices in the order Build creates them (the embedding excluded).
  std::vector<MatrixView*> MatrixSlots();
  Status Pack();
  void Progress() {
    ++done_;
    if (opt_.progress && total_ > 0) opt_.progress(static_cast<double>(done_) / total_);
  }

  Llm* llm_;
  const LoadOptions& opt_;
  const std::map<std::string, RawTensor>* tensors_ = nullptr;
  size_t done_ = 0, total_ = 0;
  std::vector<std::string> sources_;
  // Load-time conversions wait until Pack() knows whether the packed-weight cache has the
  // result: a hit never needs the converted rows. Matrix() returns the target's view with no
  // data; these are the sources, in creation order.
  std::vector<MatrixView> deferred_;
};

namespace {

uint64_t RoundUp64(uint64_t n) { return (n + 63) / 64 * 64; }

std::string Shape(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

// llama3 rope scaling as config.json declares it: per-pair divisors of the base frequency.
std::vector<float> Llama3FreqFactors(const HyperParams& hp, int64_t n_rot) {
  const double factor = hp.rope_scaling_factor, lo = hp.llama3_low_freq_factor,
               hi = hp.llama3_high_freq_factor;
  const double old_ctx = static_cast<double>(hp.rope_orig_ctx ? hp.rope_orig_ctx : 8192);
  const double lo_wavelen = old_ctx / lo, hi_wavelen = old_ctx / hi;
  std::vector<float> out;
  for (int64_t i = 0; i < n_rot / 2; ++i) {
    const double freq = std::pow(hp.rope_theta, -2.0 * static_cast<double>(i) / n_rot);
    const double wavelen = 2 * std::numbers::pi / freq;
    double f = 1.0;
    if (wavelen > lo_wavelen) {
      f = factor;
    } else if (wavelen >= hi_wavelen) {
      const double smooth = (old_ctx / wavelen - lo) / (hi - lo);
      f = 1.0 / ((1 - smooth) / factor + smooth);
    }
    out.push_back(static_cast<float>(f));
  }
  return out;
}

}  // namespace

Status LlmBuilder::FillConfig(const ArchInfo& arch, bool from_gguf) {
  const HyperParams& hp = llm_->desc_.hp;
  LlmConfig& c = llm_->config_;
  c.arch = std::string(arch.name);
  c.n_embd = static_cast<int64_t>(hp.n_embd);
  c.n_layer = static_cast<int64_t>(hp.n_layer);
  c.n_head = static_cast<int64_t>(hp.n_head);
  c.n_head_kv = static_cast<int64_t>(hp.n_head_kv);
  c.head_dim = static_cast<int64_t>(hp.head_dim_k);
  c.n_ff = static_cast<int64_t>(hp.n_ff);
  c.n_vocab = static_cast<int64_t>(hp.n_vocab);
  c.n_ctx_train = static_cast<int64_t>(hp.n_ctx_train ? hp.n_ctx_train : 4096);
  c.rms_eps = static_cast<float>(hp.rms_eps);
  if (c.n_embd <= 0 || c.n_layer <= 0 || c.n_head <= 0 || c.n_head_kv <= 0 || c.n_ff <= 0 ||
      c.n_vocab <= 0 || c.head_dim <= 0 || c.n_head % c.n_head_kv != 0 ||
      hp.head_dim_v != hp.head_dim_k || c.n_embd > (1 << 20) || c.n_head > 4096 ||
      c.head_dim > 4096 || c.n_layer > 4096)
    return Corrupt("implausible hyper-parameters (embedding " + std::to_string(c.n_embd) +
                   ", layers " + std::to_string(c.n_layer) + ", heads " + std::to_string(c.n_head) +
                   "/" + std::to_string(c.n_head_kv) + ")");
  RopeConfig& r = c.rope;
  r.n_rot = static_cast<int64_t>(hp.rope_dims);
  if (r.n_rot <= 0 || r.n_rot > c.head_dim || r.n_rot % 2 != 0)
    return Corrupt("rope dimension count " + std::to_string(r.n_rot) + " does not fit head dim " +
                   std::to_string(c.head_dim));
  r.theta = hp.rope_theta;
  r.layout = from_gguf ? arch.rope_gguf : arch.rope_hf;
  r.attn_factor = hp.rope_attn_factor;
  r.beta_fast = hp.yarn_beta_fast;
  r.beta_slow = hp.yarn_beta_slow;
  r.orig_ctx = static_cast<int64_t>(hp.rope_orig_ctx ? hp.rope_orig_ctx : hp.n_ctx_train);
  const std::string& s = hp.rope_scaling;
  if (s == "linear" || s == "yarn") {
    if (!(hp.rope_scaling_factor > 0)) return Corrupt("rope scaling factor must be positive");
    r.freq_scale = 1.0 / hp.rope_scaling_factor;
    if (s == "yarn") r.ext_factor = 1.0;
  } else if (s == "llama3") {
    r.freq_factors = Llama3FreqFactors(hp, r.n_rot);
  } else if (s != "none" && s != "default" && !s.empty()) {
    return Unsupported("rope scaling '" + s + "' is not supported");
  }
  return Status::Ok();
}

Result<MatrixView> LlmBuilder::Matrix(const std::string& name, int64_t n_cols, int64_t n_rows,
                                      bool convert) {
  auto it = tensors_->find(name);
  if (it == tensors_->end()) return NotFound("missing tensor " + name);
  const RawTensor& t = it->second;
  if (t.shape.size() != 2 || t.shape[0] != n_cols || t.shape[1] != n_rows)
    return Corrupt("tensor " + name + " has shape " + Shape(t.shape) + ", expected " +
                   Shape({n_cols, n_rows}));
  SEEKD_ASSIGN_OR_RETURN(uint64_t row_bytes, RowBytes(t.dtype, static_cast<uint64_t>(n_cols)));
  MatrixView m{t.dtype, t.bytes.data(), n_cols, n_rows, row_bytes};
  Progress();
  const bool has_kernel = kernels::HasVecDot(t.dtype);
  DType target = t.dtype;
  if (convert && opt_.quant) target = *opt_.quant;
  if (!has_kernel && target == t.dtype) {
    if (!CanDequantize(t.dtype))
      return Unsupported("tensor " + name + " is " + std::string(DTypeName(t.dtype)) +
                         ", which seekd cannot compute with");
    target = DType::kF16;  // computable stand-in for a type without a dot kernel
  }
  if (target == t.dtype) return m;
  // Convert (a dtype's block must divide a row): deferred to Pack().
  auto target_row = RowBytes(target, static_cast<uint64_t>(n_cols));
  if (!target_row.ok()) {
    if (has_kernel) return m;  // keep as stored: the row does not fit the target's blocks
    return target_row.status().WithContext(name);
  }
  deferred_.push_back(m);
  return MatrixView{target, nullptr, n_cols, n_rows, *target_row};
}

namespace {

// A deferred matrix (Matrix() with --quant) dequantized row by row and quantized to dst's type.
Status ConvertRows(const MatrixView& src, const MatrixView& dst, std::vector<uint8_t>* out) {
  out->resize(dst.row_bytes * static_cast<uint64_t>(dst.n_rows));
  std::vector<float> row(static_cast<size_t>(src.n_cols));
  for (int64_t r = 0; r < src.n_rows; ++r) {
    SEEKD_RETURN_IF_ERROR(Dequantize(src.dtype, src.Row(r), row.data(), src.n_cols));
    SEEKD_RETURN_IF_ERROR(
        Quantize(dst.dtype, row.data(), out->data() + dst.row_bytes * r, src.n_cols));
  }
  return Status::Ok();
}

}  // namespace

std::vector<MatrixView*> LlmBuilder::MatrixSlots() {
  LlmWeights& w = llm_->weights_;
  std::vector<MatrixView*> slots;
  for (LayerWeights& l : w.layers)
    for (MatrixView* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down})
      slots.push_back(m);
  slots.push_back(&w.output);
  return slots;
}

Result<const float*> LlmBuilder::Vector(const std::string& name, int64_t n, bool optional) {
  auto it = tensors_->find(name);
  if (it == tensors_->end()) {
    if (optional) return static_cast<const float*>(nullptr);
    return NotFound("missing tensor " + name);
  }
  const RawTensor& t = it->second;
  if (t.shape.size() != 1 || t.shape[0] != n)
    return Corrupt("tensor " + name + " has shape " + Shape(t.shape) + ", expected [" +
                   std::to_string(n) + "]");
  if (!CanDequantize(t.dtype))
    return Unsupported("tensor " + name + " is " + std::string(DTypeName(t.dtype)));
  // Always an owned f32 copy: small, and aligned whatever the file's offsets.
  std::vector<uint8_t> out(static_cast<size_t>(n) * sizeof(float));
  SEEKD_RETURN_IF_ERROR(
      Dequantize(t.dtype, t.bytes.data(), reinterpret_cast<float*>(out.data()), n));
  llm_->converted_bytes_ += out.size();
  llm_->owned_.push_back(std::move(out));
  Progress();
  return reinterpret_cast<const float*>(llm_->owned_.back().data());
}

Status LlmBuilder::Build(const std::map<std::string, RawTensor>& tensors, const ArchInfo& arch,
                         bool from_gguf) {
  tensors_ = &tensors;
  total_ = tensors.size();
  SEEKD_RETURN_IF_ERROR(FillConfig(arch, from_gguf));
  const LlmConfig& c = llm_->config_;
  LlmWeights& w = llm_->weights_;
  const int64_t E = c.n_embd, Q = c.n_head * c.head_dim, KV = c.n_head_kv * c.head_dim;
  // The embedding is read one row per token: keep it as stored (never re-quantized).
  SEEKD_ASSIGN_OR_RETURN(w.token_embd, Matrix("token_embd.weight", E, c.n_vocab, false));
  if (!CanDequantize(w.token_embd.dtype)) return Unsupported("token_embd.weight's type");
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const std::string b = "blk." + std::to_string(i) + ".";
    LayerWeights l;
    SEEKD_ASSIGN_OR_RETURN(l.attn_norm, Vector(b + "attn_norm.weight", E));
    SEEKD_ASSIGN_OR_RETURN(l.wq, Matrix(b + "attn_q.weight", E, Q));
    SEEKD_ASSIGN_OR_RETURN(l.wk, Matrix(b + "attn_k.weight", E, KV));
    SEEKD_ASSIGN_OR_RETURN(l.wv, Matrix(b + "attn_v.weight", E, KV));
    SEEKD_ASSIGN_OR_RETURN(l.bq, Vector(b + "attn_q.bias", Q, !arch.qkv_bias));
    SEEKD_ASSIGN_OR_RETURN(l.bk, Vector(b + "attn_k.bias", KV, !arch.qkv_bias));
    SEEKD_ASSIGN_OR_RETURN(l.bv, Vector(b + "attn_v.bias", KV, !arch.qkv_bias));
    SEEKD_ASSIGN_OR_RETURN(l.wo, Matrix(b + "attn_output.weight", Q, E));
    SEEKD_ASSIGN_OR_RETURN(l.ffn_norm, Vector(b + "ffn_norm.weight", E));
    SEEKD_ASSIGN_OR_RETURN(l.w_gate, Matrix(b + "ffn_gate.weight", E, c.n_ff));
    SEEKD_ASSIGN_OR_RETURN(l.w_up, Matrix(b + "ffn_up.weight", E, c.n_ff));
    SEEKD_ASSIGN_OR_RETURN(l.w_down, Matrix(b + "ffn_down.weight", c.n_ff, E));
    w.layers.push_back(l);
  }
  SEEKD_ASSIGN_OR_RETURN(w.output_norm, Vector("output_norm.weight", E));
  if (tensors.count("output.weight")) {
    SEEKD_ASSIGN_OR_RETURN(w.output, Matrix("output.weight", E, c.n_vocab));
  } else {
    SEEKD_ASSIGN_OR_RETURN(w.output, Matrix("token_embd.weight", E, c.n_vocab));
  }
  // llama3 scaling as llama.cpp's converter stores it.
  if (auto it = tensors.find("rope_freqs.weight"); it != tensors.end()) {
    SEEKD_ASSIGN_OR_RETURN(const float* ff, Vector("rope_freqs.weight", c.rope.n_rot / 2));
    llm_->config_.rope.freq_factors.assign(ff, ff + c.rope.n_rot / 2);
  }
  SEEKD_RETURN_IF_ERROR(Pack());
  if (opt_.progress) opt_.progress(1.0);
  return Status::Ok();
}

// Runs the deferred --quant conversions and repacks the matrices the active table has a
// packed GEMM for (ARCHITECTURE: "a format repacked for a kernel is built once at load and
// counted"), in slices of row groups on a few threads. With a cache folder the packed copy is
// first looked up there: a hit maps it, never reads the original pages, and skips the
// conversions of the matrices it covers. On a miss the copy goes to memory as without a cache,
// and a background thread stores it for the next load (writing to the page cache can stall on
// a slow disk; the load must not). The file pages a packed matrix was read from are handed
// back (MADV_DONTNEED: the mapping stays valid and re-reads the file if another ISA's table
// ever uses the original layout).
Status LlmBuilder::Pack() {
  const kernels::Kernels& k = kernels::Active();
  LlmWeights& w = llm_->weights_;
  // The deferred conversions, matched to their slots (the only views without data).
  std::vector<std::pair<MatrixView*, const MatrixView*>> pending;
  size_t next_deferred = 0;
  std::vector<MatrixView*> todo;
  for (MatrixView* m : MatrixSlots()) {
    if (m->data == nullptr) {
      SEEKD_CHECK(next_deferred < deferred_.size());
      const MatrixView& src = deferred_[next_deferred++];
      SEEKD_CHECK(src.n_rows == m->n_rows && src.n_cols == m->n_cols);
      pending.emplace_back(m, &src);
    }
    const kernels::PackedGemm& pg = k.packed[static_cast<int>(m->dtype)];
    if (opt_.repack && pg.pack != nullptr && m->n_rows % kernels::kPackedRows == 0 &&
        m->n_cols % 32 == 0)
      todo.push_back(m);
  }
  SEEKD_CHECK(next_deferred == deferred_.size());
  // Converts the pending matrices (all, or those a cache hit does not cover), one matrix per
  // job on every core, largest first.
  auto convert = [&](bool skip_packed) -> Status {
    std::vector<size_t> jobs;
    for (size_t i = 0; i < pending.size(); ++i)
      if (!(skip_packed && pending[i].first->packed != nullptr)) jobs.push_back(i);
    std::stable_sort(jobs.begin(), jobs.end(), [&](size_t a, size_t b) {
      return pending[a].first->n_rows * pending[a].first->n_cols >
             pending[b].first->n_rows * pending[b].first->n_cols;
    });
    std::vector<std::vector<uint8_t>> out(jobs.size());
    std::vector<Status> status(jobs.size(), Status::Ok());
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t j; (j = next.fetch_add(1)) < jobs.size();)
        status[j] = ConvertRows(*pending[jobs[j]].second, *pending[jobs[j]].first, &out[j]);
    };
    const auto cores = static_cast<size_t>(std::max(1u, std::thread::hardware_concurrency()));
    std::vector<std::thread> threads;
    for (size_t t = 1; t < std::min(cores, jobs.size()); ++t) threads.emplace_back(work);
    work();
    for (auto& t : threads) t.join();
    for (size_t j = 0; j < jobs.size(); ++j) {
      SEEKD_RETURN_IF_ERROR(status[j]);
      llm_->converted_bytes_ += out[j].size();
      llm_->owned_.push_back(std::move(out[j]));
      pending[jobs[j]].first->data = llm_->owned_.back().data();
    }
    return Status::Ok();
  };
  if (todo.empty()) return convert(false);
  auto table = [&](const MatrixView& m) -> const kernels::PackedGemm& {
    return k.packed[static_cast<int>(m.dtype)];
  };
  std::vector<PackedMatrixInfo> infos;
  std::string tag = "quant=" + std::string(opt_.quant ? DTypeName(*opt_.quant) : "none");
  bool layouts = true;
  for (const MatrixView* m : todo) {
    const kernels::PackedGemm& pg = table(*m);
    infos.push_back({m->dtype, m->n_rows, m->n_cols, pg.bytes(m->n_rows, m->n_cols),
                     pg.bytes(kernels::kPackedRows, m->n_cols)});
    if (pg.layout == nullptr) layouts = false;
    if (pg.layout != nullptr && tag.find(pg.layout) == std::string::npos)
      tag += std::string(" ") + pg.layout;
  }
  for (const PackedMatrixInfo& x : infos) llm_->packed_bytes_ += x.bytes;
  const int n_threads = static_cast<int>(std::clamp(std::thread::hardware_concurrency(), 1u, 4u));

  PackCacheStatus& status = llm_->pack_cache_;
  std::unique_ptr<PackCacheWriter> writer;
  if (!opt_.pack_cache_dir.empty() && !sources_.empty() && layouts) {
    auto key = MakePackCacheKey(opt_.pack_cache_dir, sources_, tag);
    if (key.ok()) {
      auto hit = LookupPackCache(*key, infos);
      if (hit.ok()) {
        for (size_t i = 0; i < todo.size(); ++i) todo[i]->packed = hit->data[i];
        llm_->keep_alive_.push_back(hit->file);
        status.state = "hit";
        status.file = key->file;
        // A matrix served packed from the cache is never read in its own layout: its
        // conversion is skipped (its view keeps no data).
        return convert(true);
      }
      if (hit.status().code() != StatusCode::kNotFound)
        status.reason = "replacing " + key->file + ": " + hit.status().message();
      auto created = PackCacheWriter::Create(*key, infos);
      if (created.ok()) {
        writer = std::move(*created);
        status.state = "writing";
        status.file = key->file;
      } else {
        status.state = "unavailable";
        status.reason = created.status().message();
      }
    } else {
      status.state = "unavailable";
      status.reason = key.status().message();
    }
  }

  SEEKD_RETURN_IF_ERROR(convert(false));
  auto owned = [&](const uint8_t* p) {
    for (const auto& o : llm_->owned_)
      if (p >= o.data() && p < o.data() + o.size()) return true;
    return false;
  };
  for (size_t i = 0; i < todo.size(); ++i) {
    const uint64_t n = infos[i].bytes;
    llm_->packed_.emplace_back(static_cast<uint8_t*>(std::aligned_alloc(64, RoundUp64(n))),
                               [](uint8_t* p) { std::free(p); });
    SEEKD_CHECK(llm_->packed_.back() != nullptr);
    todo[i]->packed = llm_->packed_.back().get();
  }
  const std::vector<PackSlice> slices = PackSlices(infos);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < slices.size();) {
      const PackSlice& s = slices[i];
      const MatrixView& m = *todo[s.matrix];
      table(m).pack(m.data + s.row0 * m.row_bytes, s.n_rows, m.n_cols,
                    const_cast<uint8_t*>(m.packed) + s.offset);
      // Release the whole file pages under these rows (not the embedding a tied output
      // shares, not owned memory).
      if (m.data == w.token_embd.data || owned(m.data)) continue;
      const auto page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
      const uint8_t* lo = m.data + s.row0 * m.row_bytes;
      const uint8_t* hi = lo + static_cast<uint64_t>(s.n_rows) * m.row_bytes;
      const uint8_t* first = lo + (page - reinterpret_cast<uintptr_t>(lo) % page) % page;
      const uint8_t* last = hi - reinterpret_cast<uintptr_t>(hi) % page;
      if (last > first)
        madvise(const_cast<uint8_t*>(first), static_cast<size_t>(last - first), MADV_DONTNEED);
    }
  };
  std::vector<std::thread> threads;
  for (int t = 1; t < n_threads; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  if (!writer) return Status::Ok();

  std::vector<const uint8_t*> data(todo.size());
  for (size_t i = 0; i < todo.size(); ++i) data[i] = todo[i]->packed;
  Llm* llm = llm_;
  const uint64_t max_bytes = opt_.pack_cache_max_bytes;
  llm_->pack_writer_ = std::thread([llm, max_bytes, data = std::move(data),
                                    wr = std::shared_ptr<PackCacheWriter>(std::move(writer))] {
    Status st = Status::Ok();
    for (size_t i = 0; i < data.size() && st.ok(); ++i) st = wr->Write(i, data[i]);
    if (st.ok()) st = wr->Commit(max_bytes);
    std::lock_guard<std::mutex> lock(llm->pack_mu_);
    llm->pack_cache_.state = st.ok() ? "written" : "unavailable";
    if (!st.ok()) llm->pack_cache_.reason = st.message();
  });
  return Status::Ok();
}

Llm::~Llm() { FinishPackCache(); }

void Llm::FinishPackCache() {
  if (pack_writer_.joinable()) pack_writer_.join();
}

PackCacheStatus Llm::pack_cache() const {
  std::lock_guard<std::mutex> lock(pack_mu_);
  return pack_cache_;
}

uint64_t Llm::StreamedBytesPerToken() const {
  auto bytes = [](const MatrixView& m) { return m.row_bytes * static_cast<uint64_t>(m.n_rows); };
  uint64_t total = weights_.token_embd.row_bytes + bytes(weights_.output);
  for (const LayerWeights& l : weights_.layers)
    total += bytes(l.wq) + bytes(l.wk) + bytes(l.wv) + bytes(l.wo) + bytes(l.w_gate) +
             bytes(l.w_up) + bytes(l.w_down);
  return total;
}

uint64_t Llm::MatMulMacsPerToken() const {
  auto macs = [](const MatrixView& m) { return static_cast<uint64_t>(m.n_cols * m.n_rows); };
  uint64_t total = macs(weights_.output);
  for (const LayerWeights& l : weights_.layers)
    total += macs(l.wq) + macs(l.wk) + macs(l.wv) + macs(l.wo) + macs(l.w_gate) + macs(l.w_up) +
             macs(l.w_down);
  return total;
}

double Llm::MatMulMacs(int64_t tokens, int64_t logit_tokens) const {
  const MatrixView& out = weights_.output;
  const double out_macs = static_cast<double>(out.n_cols) * static_cast<double>(out.n_rows);
  const double layer_macs = static_cast<double>(MatMulMacsPerToken()) - out_macs;
  return layer_macs * static_cast<double>(tokens) + out_macs * static_cast<double>(logit_tokens);
}

namespace {

// Checkpoint dtypes seekd computes with; anything else (FP8, integer buffers) is marked I8,
// which the builder refuses with the tensor's name if the model needs it.
DType DTypeOfSafetensors(const std::string& d) {
  if (d == "F32") return DType::kF32;
  if (d == "F16") return DType::kF16;
  if (d == "BF16") return DType::kBF16;
  return DType::kI8;
}

Status LoadGguf(const std::string& path, LlmBuilder* b, std::shared_ptr<const void>* keep) {
  SEEKD_ASSIGN_OR_RETURN(GgufFile f, GgufFile::Open(path));
  auto file = std::make_shared<GgufFile>(std::move(f));
  *keep = file;
  SEEKD_ASSIGN_OR_RETURN(ModelDescription d, DescribeGguf(*file));
  const ArchInfo* arch = FindArch(d.architecture);
  if (arch == nullptr) return Unsupported("architecture '" + d.architecture + "' cannot run yet");
  std::map<std::string, RawTensor> tensors;
  for (const GgufTensorInfo& t : file->tensors())
    tensors[t.name] = RawTensor{t.dtype, t.shape, file->TensorData(t)};
  b->SetDescription(std::move(d));
  return b->Build(tensors, *arch, true);
}

}  // namespace

Result<std::unique_ptr<Llm>> LoadLlm(const std::string& path, const LoadOptions& opt) {
  auto llm = std::make_unique<Llm>();
  LlmBuilder builder(llm.get(), opt);
  std::error_code ec;
  if (!std::filesystem::is_directory(path, ec)) {
    std::shared_ptr<const void> keep;
    builder.SetSources({path});
    Status st = LoadGguf(path, &builder, &keep);
    if (!st.ok()) return st.WithContext(path);
    builder.KeepAlive(std::move(keep));
    return llm;
  }
  SEEKD_ASSIGN_OR_RETURN(ModelDescription d, DescribeHfFolder(path));
  const ArchInfo* arch = FindArch(d.architecture);
  if (arch == nullptr) return Unsupported("architecture '" + d.architecture + "' cannot run yet");
  SEEKD_ASSIGN_OR_RETURN(std::vector<std::string> files, HfSafetensorsFiles(path));
  builder.SetSources(files);
  std::map<std::string, RawTensor> tensors;
  for (const std::string& file : files) {
    SEEKD_ASSIGN_OR_RETURN(SafetensorsFile sf, SafetensorsFile::Open(file));
    auto f = std::make_shared<SafetensorsFile>(std::move(sf));
    for (const SafetensorsTensor& t : f->tensors()) {
      tensors[GgufNameFromHf(t.name)] =
          RawTensor{DTypeOfSafetensors(t.dtype),
                    std::vector<int64_t>(t.shape.rbegin(), t.shape.rend()), f->TensorData(t)};
    }
    builder.KeepAlive(std::move(f));
  }
  builder.SetDescription(std::move(d));
  if (Status st = builder.Build(tensors, *arch, false); !st.ok()) return st.WithContext(path);
  return llm;
}

}  // namespace seekd::model
