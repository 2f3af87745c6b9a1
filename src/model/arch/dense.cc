// The llama-family decoder (llama, qwen2): pre-norm blocks of grouped-query attention with
// RoPE and a SwiGLU feed-forward. Shapes in comments: N = tokens in the batch, E = n_embd,
// Q = n_head·hd, KV = n_head_kv·hd, F = n_ff.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <numbers>

#include "core/ops.h"
#include "core/quant.h"
#include "model/forward.h"

namespace seekd::model {

ContiguousKv::ContiguousKv(const LlmConfig& c, int64_t n_ctx)
    : n_layer_(c.n_layer),
      n_ctx_(n_ctx),
      n_head_kv_(c.n_head_kv),
      head_dim_(c.head_dim),
      // Uninitialised on purpose: pages are touched only as positions fill.
      k_(new float[static_cast<size_t>(n_layer_ * n_head_kv_ * n_ctx_ * head_dim_)]),
      v_(new float[static_cast<size_t>(n_layer_ * n_head_kv_ * n_ctx_ * head_dim_)]) {}

float* ContiguousKv::K(int64_t layer, int64_t pos, int64_t* run) {
  if (run) *run = n_ctx_ - pos;
  return k_.get() + (layer * n_head_kv_ * n_ctx_ + pos) * head_dim_;
}

float* ContiguousKv::V(int64_t layer, int64_t pos, int64_t* run) {
  if (run) *run = n_ctx_ - pos;
  return v_.get() + (layer * n_head_kv_ * n_ctx_ + pos) * head_dim_;
}

Forward::Forward(const Llm& llm, ThreadPool& pool, const kernels::Kernels& k)
    : llm_(llm), pool_(pool), k_(k), attn_scratch_(static_cast<size_t>(pool.size())) {}

namespace {

// YaRN's correction range: the dims that turn fewer than `rotations` times over the original
// context (arXiv 2309.00071 §3.2; the same rule as llama.cpp and transformers).
double CorrDim(double n_rot, double orig_ctx, double rotations, double base) {
  return n_rot * std::log(orig_ctx / (rotations * 2 * std::numbers::pi)) / (2 * std::log(base));
}

// YaRN's ramp over the rotated pairs: the correction range [lo, hi] of the config, then pair
// i's share of extrapolation (0 when YaRN is off).
void YarnRange(const RopeConfig& r, double* lo, double* hi) {
  *lo = *hi = 0;
  if (r.ext_factor <= 0) return;
  const double orig = static_cast<double>(r.orig_ctx > 0 ? r.orig_ctx : 4096);
  *lo =
      std::max(0.0, std::floor(CorrDim(static_cast<double>(r.n_rot), orig, r.beta_fast, r.theta)));
  *hi = std::min(static_cast<double>(r.n_rot - 1),
                 std::ceil(CorrDim(static_cast<double>(r.n_rot), orig, r.beta_slow, r.theta)));
}
double YarnRamp(const RopeConfig& r, int64_t i, double lo, double hi) {
  const double y = (static_cast<double>(i) - lo) / std::max(0.001, hi - lo);
  return (1.0 - std::clamp(y, 0.0, 1.0)) * r.ext_factor;
}

void Resize(std::vector<float>* v, int64_t n) {
  if (static_cast<int64_t>(v->size()) < n) v->resize(static_cast<size_t>(n));
}

}  // namespace

// cos/sin per token and rotated pair, in double, then stored as f32.
void Forward::RopeTables(std::span<const BatchToken> batch) {
  const RopeConfig& r = llm_.config().rope;
  const int64_t half = r.n_rot / 2, n = static_cast<int64_t>(batch.size());
  Resize(&cos_, n * half);
  Resize(&sin_, n * half);
  double lo = 0, hi = 0, mscale = r.attn_factor;
  YarnRange(r, &lo, &hi);
  if (r.ext_factor > 0) mscale *= 1.0 + 0.1 * std::log(1.0 / r.freq_scale);
  for (int64_t t = 0; t < n; ++t) {
    const double pos = static_cast<double>(batch[t].pos);
    for (int64_t i = 0; i < half; ++i) {
      double extrap = pos * std::pow(r.theta, -2.0 * static_cast<double>(i) / r.n_rot);
      if (!r.freq_factors.empty()) extrap /= r.freq_factors[static_cast<size_t>(i)];
      double theta = extrap * r.freq_scale;
      if (r.ext_factor > 0) {
        const double ramp = YarnRamp(r, i, lo, hi);
        theta = theta * (1 - ramp) + extrap * ramp;
      }
      cos_[static_cast<size_t>(t * half + i)] = static_cast<float>(std::cos(theta) * mscale);
      sin_[static_cast<size_t>(t * half + i)] = static_cast<float>(std::sin(theta) * mscale);
    }
  }
}

void Forward::ShiftKeys(KvStore* kv, int64_t from, int64_t count, int64_t delta) {
  SEEKD_CHECK(!kv->int8() && from >= 0 && count >= 0 && from + count <= kv->capacity());
  const LlmConfig& c = llm_.config();
  const RopeConfig& r = c.rope;
  const int64_t half = r.n_rot / 2, hd = c.head_dim, H = c.n_head_kv;
  // The angle per position of each pair: RopeTables' θ(pos) is pos times this (YaRN's ramp
  // mixes two per-pair rates, so it stays linear in pos); mscale is not part of a rotation.
  double lo = 0, hi = 0;
  YarnRange(r, &lo, &hi);
  std::vector<float> cs(static_cast<size_t>(half)), sn(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    double w = std::pow(r.theta, -2.0 * static_cast<double>(i) / r.n_rot);
    if (!r.freq_factors.empty()) w /= r.freq_factors[static_cast<size_t>(i)];
    double mix = r.freq_scale;
    if (r.ext_factor > 0) {
      const double ramp = YarnRamp(r, i, lo, hi);
      mix = r.freq_scale * (1 - ramp) + ramp;
    }
    const double angle = -static_cast<double>(delta) * w * mix;
    cs[static_cast<size_t>(i)] = static_cast<float>(std::cos(angle));
    sn[static_cast<size_t>(i)] = static_cast<float>(std::sin(angle));
  }
  const bool neox = r.layout == ops::RopeLayout::kNeox;
  pool_.ParallelFor(c.n_layer, [&](int64_t l0, int64_t l1, int) {
    for (int64_t layer = l0; layer < l1; ++layer)
      for (int64_t p = from; p < from + count;) {
        int64_t run = 0;
        float* k = kv->K(layer, p, &run);  // per head: [run, hd]
        run = std::min(run, from + count - p);
        for (int64_t g = 0; g < H; ++g)
          for (int64_t j = 0; j < run; ++j) {
            float* v = k + g * kv->head_stride() + j * hd;
            for (int64_t i = 0; i < half; ++i) {
              const int64_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
              const float x0 = v[a], x1 = v[b];
              v[a] = x0 * cs[static_cast<size_t>(i)] - x1 * sn[static_cast<size_t>(i)];
              v[b] = x0 * sn[static_cast<size_t>(i)] + x1 * cs[static_cast<size_t>(i)];
            }
          }
        p += run;
      }
  });
}

// Rotates n_heads heads of token t in place: pairs (2i, 2i+1) or (i, i + n_rot/2).
void Forward::ApplyRope(float* x, int64_t n_heads, int64_t t) const {
  const RopeConfig& r = llm_.config().rope;
  const int64_t hd = llm_.config().head_dim, half = r.n_rot / 2;
  const float* c = cos_.data() + t * half;
  const float* s = sin_.data() + t * half;
  const bool neox = r.layout == ops::RopeLayout::kNeox;
  for (int64_t h = 0; h < n_heads; ++h) {
    float* v = x + h * hd;
    for (int64_t i = 0; i < half; ++i) {
      const int64_t a = neox ? i : 2 * i, b = neox ? i + half : 2 * i + 1;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c[i] - x1 * s[i];
      v[b] = x0 * s[i] + x1 * c[i];
    }
  }
}

// One K or V row (width values) into int8 with a scale per group of G values:
// scale = max|x| / 127, q = round(x / scale).
static void QuantizeKvRow(const float* x, int64_t width, int64_t G, int8_t* q, float* scales) {
  for (int64_t g = 0; g < width / G; ++g) {
    const float* xg = x + g * G;
    float amax = 0;
    for (int64_t i = 0; i < G; ++i) amax = std::max(amax, std::fabs(xg[i]));
    const float s = amax / 127.0f;
    const float inv = s > 0 ? 1.0f / s : 0.0f;
    for (int64_t i = 0; i < G; ++i) q[g * G + i] = static_cast<int8_t>(std::lrintf(xg[i] * inv));
    scales[g] = s;
  }
}

void Forward::StoreKv(const LlmConfig& c, int64_t layer, const BatchToken& b,
                      std::span<KvStore* const> seqs, const float* k, const float* v) {
  KvStore* kv = seqs[static_cast<size_t>(b.seq)];
  if (kv->int8()) {  // each head into its own slab (groups never straddle heads)
    float *ks = nullptr, *vs = nullptr;
    int8_t* kq = kv->K8(layer, b.pos, nullptr, &ks);  // sets ks: call before using it
    int8_t* vq = kv->V8(layer, b.pos, nullptr, &vs);
    const int64_t hd = c.head_dim, G = KvQuantGroup(hd), hs = kv->head_stride();
    const int64_t ss = kv->scale_head_stride();
    for (int64_t g = 0; g < c.n_head_kv; ++g) {
      QuantizeKvRow(k + g * hd, hd, G, kq + g * hs, ks + g * ss);
      QuantizeKvRow(v + g * hd, hd, G, vq + g * hs, vs + g * ss);
    }
    return;
  }
  float* kd = kv->K(layer, b.pos, nullptr);
  float* vd = kv->V(layer, b.pos, nullptr);
  for (int64_t g = 0; g < c.n_head_kv; ++g) {  // each head into its own slab
    std::copy_n(k + g * c.head_dim, c.head_dim, kd + g * kv->head_stride());
    std::copy_n(v + g * c.head_dim, c.head_dim, vd + g * kv->head_stride());
  }
}

// Splits the batch's attention into tiles: for each sequence and KV head, the query rows of
// its tokens × the heads of the group, at most kAttnMaxRows per tile (so a vector lane holds
// one row, kernels/f32_avx512.cc); 8-bit stores too, their rows dequantized per tile. Largest
// first, so the threads' shares even out.
void Forward::PlanAttention(std::span<const BatchToken> batch, std::span<KvStore* const> seqs) {
  const LlmConfig& c = llm_.config();
  const int64_t group = c.n_head / c.n_head_kv, n = static_cast<int64_t>(batch.size());
  attn_rows_.clear();
  attn_tiles_.clear();
  std::vector<std::vector<int32_t>> by_seq(seqs.size());
  for (int64_t t = 0; t < n; ++t)
    by_seq[static_cast<size_t>(batch[static_cast<size_t>(t)].seq)].push_back(
        static_cast<int32_t>(t));
  for (size_t s = 0; s < by_seq.size(); ++s)
    for (int64_t g = 0; g < c.n_head_kv; ++g) {
      AttnWork w{static_cast<int32_t>(s), static_cast<int32_t>(g), 0, 0, 0};
      auto flush = [&] {
        if (w.n_rows > 0) attn_tiles_.push_back(w);
        w.row0 = static_cast<int32_t>(attn_rows_.size());
        w.n_rows = 0;
        w.max_vis = 0;
      };
      flush();
      for (int32_t t : by_seq[s])
        for (int64_t hh = 0; hh < group; ++hh) {
          if (w.n_rows == kernels::kAttnMaxRows) flush();
          attn_rows_.push_back({t, static_cast<int32_t>(g * group + hh)});
          ++w.n_rows;
          w.max_vis = std::max(w.max_vis, batch[static_cast<size_t>(t)].pos + 1);
        }
      flush();
    }
  std::stable_sort(attn_tiles_.begin(), attn_tiles_.end(),
                   [](const AttnWork& a, const AttnWork& b) {
                     return a.max_vis * a.n_rows > b.max_vis * b.n_rows;
                   });
  attn_scratch_.resize(static_cast<size_t>(pool_.size()));
}

void Forward::AttendTile(int64_t layer, size_t tile, std::span<const BatchToken> batch,
                         std::span<KvStore* const> seqs, int thread) {
  const LlmConfig& c = llm_.config();
  const int64_t hd = c.head_dim, Q = c.n_head * hd;
  const AttnWork& w = attn_tiles_[tile];
  AttnScratch& s = attn_scratch_[static_cast<size_t>(thread)];
  KvStore* kv = seqs[static_cast<size_t>(w.seq)];
  for (auto* p : {&s.k, &s.v, &s.k8_scale, &s.v8_scale}) p->clear();
  s.k8.clear();
  s.v8.clear();
  s.run.clear();
  // 8-bit stores: the tile reads this head's int8 slices and converts them as it goes, where
  // the table can; otherwise positions [0, max_vis) are converted into f32 rows here first.
  const bool q8_tile = kv->int8() && k_.attend_int8 && hd % 8 == 0;
  const int64_t G = KvQuantGroup(hd), hg = hd / G;
  if (kv->int8() && !q8_tile) {
    DequantizeHead(layer, w.kv_head, w.max_vis, kv, &s.kf, &s.vf);
    s.k.push_back(s.kf.data());
    s.v.push_back(s.vf.data());
    s.run.push_back(w.max_vis);
  }
  for (int64_t j = kv->int8() && !q8_tile ? w.max_vis : 0; j < w.max_vis;) {  // the runs
    int64_t run = 0;
    if (q8_tile) {
      float *ks = nullptr, *vs = nullptr;
      const int8_t* kq = kv->K8(layer, j, &run, &ks);
      const int8_t* vq = kv->V8(layer, j, nullptr, &vs);
      s.k8.push_back(kq + w.kv_head * kv->head_stride());  // [run, hd] int8: this head's rows
      s.v8.push_back(vq + w.kv_head * kv->head_stride());
      s.k8_scale.push_back(ks + w.kv_head * kv->scale_head_stride());
      s.v8_scale.push_back(vs + w.kv_head * kv->scale_head_stride());
    } else {
      const float* k = kv->K(layer, j, &run);
      const float* v = kv->V(layer, j, nullptr);
      s.k.push_back(k + w.kv_head * kv->head_stride());  // [run, hd]: this head's rows
      s.v.push_back(v + w.kv_head * kv->head_stride());
    }
    run = std::min(run, w.max_vis - j);
    s.run.push_back(run);
    j += run;
  }
  s.q.resize(static_cast<size_t>(w.n_rows));
  s.out.resize(static_cast<size_t>(w.n_rows));
  s.n_vis.resize(static_cast<size_t>(w.n_rows));
  for (int32_t i = 0; i < w.n_rows; ++i) {
    const AttnRow& r = attn_rows_[static_cast<size_t>(w.row0) + static_cast<size_t>(i)];
    s.q[static_cast<size_t>(i)] = q_.data() + r.token * Q + r.head * hd;  // [hd]
    s.out[static_cast<size_t>(i)] = att_.data() + r.token * Q + r.head * hd;
    s.n_vis[static_cast<size_t>(i)] = batch[static_cast<size_t>(r.token)].pos + 1;
  }
  Resize(&s.f, kernels::AttnScratchFloats(w.n_rows, w.max_vis, hd));
  kernels::AttnTile t;
  t.head_dim = hd;
  t.n_rows = w.n_rows;
  t.q = s.q.data();
  t.out = s.out.data();
  t.n_vis = s.n_vis.data();
  t.scale = 1.0f / std::sqrt(static_cast<float>(hd));
  t.k = s.k.data();
  t.v = s.v.data();
  t.run = s.run.data();
  t.n_runs = static_cast<int64_t>(s.run.size());
  t.kv_stride = hd;  // a head's rows follow each other (also the up-front 8-bit conversion's)
  t.scratch = s.f.data();
  if (q8_tile) {
    t.k = t.v = nullptr;
    t.k8 = s.k8.data();
    t.v8 = s.v8.data();
    t.k8_scale = s.k8_scale.data();
    t.v8_scale = s.v8_scale.data();
    t.q8_stride = hd;
    t.q8_scale_stride = hg;
    t.q8_group = G;
  }
  kernels::Attend(k_, t);
}

// Head g's keys and values at positions [0, n) of an 8-bit store, as f32 rows of head_dim:
// each value is its int8 times its group's scale (one rounding), so the tile kernel then does
// what it does for f32 stores.
void Forward::DequantizeHead(int64_t layer, int64_t g, int64_t n, KvStore* kv,
                             std::vector<float>* k_out, std::vector<float>* v_out) {
  const LlmConfig& c = llm_.config();
  const int64_t hd = c.head_dim, G = KvQuantGroup(hd), hg = hd / G;
  Resize(k_out, n * hd);
  Resize(v_out, n * hd);
  for (int half = 0; half < 2; ++half) {
    float* out = (half == 0 ? k_out : v_out)->data();
    for (int64_t j = 0; j < n;) {
      int64_t run = 0;
      float* sc = nullptr;
      const int8_t* q = half == 0 ? kv->K8(layer, j, &run, &sc) : kv->V8(layer, j, &run, &sc);
      q += g * kv->head_stride();  // head g's rows [run, hd] and scales [run, hg]
      sc += g * kv->scale_head_stride();
      run = std::min(run, n - j);
      for (int64_t r = 0; r < run; ++r)
        for (int64_t b = 0; b < hg; ++b) {
          const float scale = sc[r * hg + b];
          const int8_t* qr = q + r * hd + b * G;
          float* o = out + (j + r) * hd + b * G;
          for (int64_t i = 0; i < G; ++i) o[i] = static_cast<float>(qr[i]) * scale;
        }
      j += run;
    }
  }
}

// Grouped-query attention for every (token, head): softmax(q·Kᵀ/√hd) · V over positions 0…pos.
// Threads take tiles from a shared counter; each result is computed the same way whichever
// thread takes it.
void Forward::Attention(int64_t layer, std::span<const BatchToken> batch,
                        std::span<KvStore* const> seqs) {
  const int64_t n_tiles = static_cast<int64_t>(attn_tiles_.size());
  std::atomic<int64_t> next{0};
  pool_.ParallelFor(pool_.size(), [&](int64_t, int64_t, int thread) {
    for (int64_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < n_tiles;)
      AttendTile(layer, static_cast<size_t>(i), batch, seqs, thread);
  });
}

Status Forward::Run(std::span<const BatchToken> batch, std::span<KvStore* const> seqs,
                    std::vector<float>* logits) {
  const LlmConfig& c = llm_.config();
  const LlmWeights& w = llm_.weights();
  const int64_t n = static_cast<int64_t>(batch.size());
  const int64_t E = c.n_embd, Q = c.n_head * c.head_dim, KV = c.n_head_kv * c.head_dim, F = c.n_ff;
  if (n == 0) return InvalidArgument("empty batch");
  int64_t n_logits = 0;
  for (const BatchToken& b : batch) {
    if (b.token < 0 || b.token >= c.n_vocab)
      return InvalidArgument("token id " + std::to_string(b.token) + " is outside the vocabulary");
    if (b.seq < 0 || static_cast<size_t>(b.seq) >= seqs.size() || seqs[b.seq] == nullptr)
      return InvalidArgument("batch names sequence " + std::to_string(b.seq) +
                             " that is not given");
    if (b.pos < 0 || b.pos >= seqs[b.seq]->capacity())
      return OutOfRange("position " + std::to_string(b.pos) + " is beyond the context of " +
                        std::to_string(seqs[b.seq]->capacity()));
    n_logits += b.want_logits ? 1 : 0;
  }
  for (auto* v : {&x_, &h_, &tmp_}) Resize(v, n * E);
  for (auto* v : {&q_, &att_}) Resize(v, n * Q);
  for (auto* v : {&kx_, &vx_}) Resize(v, n * KV);
  for (auto* v : {&gate_, &up_}) Resize(v, n * F);

  // [N, E] embeddings: one row of token_embd each.
  for (int64_t t = 0; t < n; ++t)
    SEEKD_RETURN_IF_ERROR(
        Dequantize(w.token_embd.dtype, w.token_embd.Row(batch[t].token), x_.data() + t * E, E));
  RopeTables(batch);
  PlanAttention(batch, seqs);
  auto per_token = [&](const auto& fn) {
    pool_.ParallelFor(n, [&](int64_t b, int64_t e, int) {
      for (int64_t t = b; t < e; ++t) fn(t);
    });
  };
  auto add_bias = [](float* y, const float* bias, int64_t width) {  // one token's row
    if (bias == nullptr) return;
    for (int64_t i = 0; i < width; ++i) y[i] += bias[i];
  };

  // The residual adds, biases, RoPE and K/V stores run per token on the pool, each token's
  // rows alone (the same operations in the same order as one thread would do them).
  auto add_residual = [&](int64_t t) {
    for (int64_t i = t * E; i < (t + 1) * E; ++i)
      x_[static_cast<size_t>(i)] += tmp_[static_cast<size_t>(i)];
  };
  for (int64_t l = 0; l < c.n_layer; ++l) {
    const LayerWeights& lw = w.layers[static_cast<size_t>(l)];
    per_token([&](int64_t t) {
      if (l > 0) add_residual(t);  // the previous layer's FFN output
      ops::RmsNorm(x_.data() + t * E, lw.attn_norm, E, c.rms_eps, h_.data() + t * E);
    });
    const MatMulOut qkv[] = {{&lw.wq, q_.data()},    // [N, Q]
                             {&lw.wk, kx_.data()},   // [N, KV]
                             {&lw.wv, vx_.data()}};  // [N, KV]
    MatMulShared(k_, pool_, qkv, h_.data(), n, &mm_);
    per_token([&](int64_t t) {
      add_bias(q_.data() + t * Q, lw.bq, Q);
      add_bias(kx_.data() + t * KV, lw.bk, KV);
      add_bias(vx_.data() + t * KV, lw.bv, KV);
      ApplyRope(q_.data() + t * Q, c.n_head, t);
      ApplyRope(kx_.data() + t * KV, c.n_head_kv, t);
      StoreKv(c, l, batch[static_cast<size_t>(t)], seqs, kx_.data() + t * KV, vx_.data() + t * KV);
    });
    Attention(l, batch, seqs);                                    // [N, Q]
    MatMul(k_, pool_, lw.wo, att_.data(), n, tmp_.data(), &mm_);  // [N, E]

    per_token([&](int64_t t) {
      add_residual(t);
      ops::RmsNorm(x_.data() + t * E, lw.ffn_norm, E, c.rms_eps, h_.data() + t * E);
    });
    const MatMulOut gate_up[] = {{&lw.w_gate, gate_.data()}, {&lw.w_up, up_.data()}};  // [N, F]
    MatMulShared(k_, pool_, gate_up, h_.data(), n, &mm_);
    per_token([&](int64_t t) {
      float* g = gate_.data() + t * F;
      if (k_.silu_mul != nullptr)
        k_.silu_mul(g, up_.data() + t * F, F, g);
      else
        ops::SiluMul(g, up_.data() + t * F, F, g);
    });
    MatMul(k_, pool_, lw.w_down, gate_.data(), n, tmp_.data(), &mm_);  // [N, E]
  }
  per_token(add_residual);  // the last layer's FFN output

  // Final norm and output projection for the tokens that want logits only: [n_logits, E].
  int64_t row = 0;
  for (int64_t t = 0; t < n; ++t)
    if (batch[t].want_logits)
      ops::RmsNorm(x_.data() + t * E, w.output_norm, E, c.rms_eps, h_.data() + (row++) * E);
  logits->resize(static_cast<size_t>(n_logits * c.n_vocab));
  if (n_logits > 0) MatMul(k_, pool_, w.output, h_.data(), n_logits, logits->data(), &mm_);
  return Status::Ok();
}

}  // namespace seekd::model
