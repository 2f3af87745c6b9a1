// A plain reference forward pass for llama-family GGUF files, written to be read: every weight
// dequantized to double, one token at a time, no SIMD, no threads, no shared code with
// model/arch/ beyond the file reader and Dequantize (itself tested bit-exact against ggml).
#pragma once

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/fp16.h"
#include "core/quant.h"
#include "model/gguf.h"

namespace seekd::testing {

class ReferenceLlm {
 public:
  // emulate_q8: round every matrix input to 8-bit blocks first, as seekd's quantized kernels do
  // (32-element blocks for legacy types, 256 for K-quants; d = max|x|/127, round half to even),
  // so the remaining difference is double vs float arithmetic only.
  // emulate_bf16: round the inputs of bf16 matrices to bf16 (nearest even), as the vdpbf16ps
  // kernels do.
  explicit ReferenceLlm(const std::string& path, bool emulate_q8 = false, bool emulate_bf16 = false)
      : emulate_q8_(emulate_q8), emulate_bf16_(emulate_bf16) {
    auto f = model::GgufFile::Open(path);
    ok_ = f.ok();
    if (!ok_) return;
    const model::GgufFile& g = *f;
    arch_ = g.GetString("general.architecture").value();
    const std::string a = arch_ + ".";
    E_ = static_cast<int>(g.GetUInt(a + "embedding_length").value());
    L_ = static_cast<int>(g.GetUInt(a + "block_count").value());
    H_ = static_cast<int>(g.GetUInt(a + "attention.head_count").value());
    Hkv_ = static_cast<int>(g.GetUInt(a + "attention.head_count_kv").value());
    F_ = static_cast<int>(g.GetUInt(a + "feed_forward_length").value());
    eps_ = g.GetFloat(a + "attention.layer_norm_rms_epsilon").value();
    theta_ = g.GetFloat(a + "rope.freq_base").value();
    if (g.Find(a + "rope.scaling.type")) scaling_ = g.GetString(a + "rope.scaling.type").value();
    factor_ = g.GetFloatOr(a + "rope.scaling.factor", 1.0).value();
    orig_ctx_ =
        static_cast<double>(g.GetUIntOr(a + "rope.scaling.original_context_length", 0).value());
    hd_ = E_ / H_;
    neox_ = arch_ == "qwen2";  // GGUF llama stores q/k for adjacent-pair rotation
    embd_ = Load(g, "token_embd.weight");
    V_ = static_cast<int>(embd_.v.size() / E_);
    out_norm_ = Load(g, "output_norm.weight");
    freq_div_ = Load(g, "rope_freqs.weight");
    out_ = g.FindTensor("output.weight") ? Load(g, "output.weight") : embd_;
    for (int l = 0; l < L_; ++l) {
      const std::string b = "blk." + std::to_string(l) + ".";
      Layer ly;
      ly.attn_norm = Load(g, b + "attn_norm.weight");
      ly.wq = Load(g, b + "attn_q.weight");
      ly.wk = Load(g, b + "attn_k.weight");
      ly.wv = Load(g, b + "attn_v.weight");
      ly.bq = Load(g, b + "attn_q.bias");
      ly.bk = Load(g, b + "attn_k.bias");
      ly.bv = Load(g, b + "attn_v.bias");
      ly.wo = Load(g, b + "attn_output.weight");
      ly.ffn_norm = Load(g, b + "ffn_norm.weight");
      ly.wg = Load(g, b + "ffn_gate.weight");
      ly.wu = Load(g, b + "ffn_up.weight");
      ly.wd = Load(g, b + "ffn_down.weight");
      layers_.push_back(std::move(ly));
    }
    keys_.resize(L_);
    values_.resize(L_);
  }

  bool ok() const { return ok_; }
  int n_vocab() const { return V_; }

  // Feeds one token at the next position; returns the logits after it.
  std::vector<double> Step(int token) {
    const int pos = static_cast<int>(keys_[0].size());
    std::vector<double> x(embd_.v.begin() + static_cast<long>(token) * E_,
                          embd_.v.begin() + static_cast<long>(token + 1) * E_);
    for (int l = 0; l < L_; ++l) {
      const Layer& ly = layers_[l];
      std::vector<double> h = RmsNorm(x, ly.attn_norm);
      std::vector<double> q = MatVec(ly.wq, h, H_ * hd_), k = MatVec(ly.wk, h, Hkv_ * hd_),
                          v = MatVec(ly.wv, h, Hkv_ * hd_);
      AddBias(&q, ly.bq);
      AddBias(&k, ly.bk);
      AddBias(&v, ly.bv);
      Rope(&q, H_, pos);
      Rope(&k, Hkv_, pos);
      keys_[l].push_back(k);
      values_[l].push_back(v);
      std::vector<double> att(H_ * hd_, 0.0);
      for (int head = 0; head < H_; ++head) {
        const int g = head / (H_ / Hkv_);
        std::vector<double> s(pos + 1);
        double mx = -1e300;
        for (int j = 0; j <= pos; ++j) {
          double d = 0;
          for (int i = 0; i < hd_; ++i) d += q[head * hd_ + i] * keys_[l][j][g * hd_ + i];
          s[j] = d / std::sqrt(static_cast<double>(hd_));
          mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (double& e : s) sum += (e = std::exp(e - mx));
        for (int j = 0; j <= pos; ++j)
          for (int i = 0; i < hd_; ++i)
            att[head * hd_ + i] += s[j] / sum * values_[l][j][g * hd_ + i];
      }
      const std::vector<double> o = MatVec(ly.wo, att, E_);
      for (int i = 0; i < E_; ++i) x[i] += o[i];
      h = RmsNorm(x, ly.ffn_norm);
      std::vector<double> gate = MatVec(ly.wg, h, F_), up = MatVec(ly.wu, h, F_);
      for (int i = 0; i < F_; ++i) gate[i] = gate[i] / (1 + std::exp(-gate[i])) * up[i];
      const std::vector<double> down = MatVec(ly.wd, gate, E_);
      for (int i = 0; i < E_; ++i) x[i] += down[i];
    }
    return MatVec(out_, RmsNorm(x, out_norm_), V_);
  }

 private:
  // A tensor's values, with the activation block its dtype's kernel uses (0: none).
  struct Tensor {
    std::vector<double> v;
    int act_block = 0;
    bool bf16 = false;  // stored as bf16
  };

  struct Layer {
    Tensor attn_norm, wq, wk, wv, bq, bk, bv, wo, ffn_norm, wg, wu, wd;
  };

  static Tensor Load(const model::GgufFile& g, const std::string& name) {
    const model::GgufTensorInfo* t = g.FindTensor(name);
    if (t == nullptr) return {};
    std::vector<float> f(t->n_elements);
    (void)Dequantize(t->dtype, g.TensorData(*t).data(), f.data(),
                     static_cast<int64_t>(t->n_elements));
    const int64_t bs = Traits(t->dtype).block_size;
    const bool quantized = Traits(t->dtype).quantized;
    return {std::vector<double>(f.begin(), f.end()), quantized ? (bs == 256 ? 256 : 32) : 0,
            t->dtype == DType::kBF16};
  }

  // x as float, rounded to bf16 (nearest even).
  static std::vector<double> Bf16(const std::vector<double>& x) {
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = Bf16ToF32(F32ToBf16(static_cast<float>(x[i])));
    return y;
  }

  std::vector<double> Q8(const std::vector<double>& x, int block) const {
    if (!emulate_q8_ || block == 0) return x;
    std::vector<double> y(x.size());
    for (size_t b = 0; b < x.size(); b += block) {
      float amax = 0;
      for (int j = 0; j < block; ++j)
        amax = std::max(amax, std::fabs(static_cast<float>(x[b + j])));
      const float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
      for (int j = 0; j < block; ++j)
        y[b + j] = static_cast<double>(d) * std::nearbyint(static_cast<float>(x[b + j]) * id);
    }
    return y;
  }

  // w holds rows of x.size() elements (ggml's ne0); out has n_out rows.
  std::vector<double> MatVec(const Tensor& w, const std::vector<double>& x_in, int n_out) const {
    const std::vector<double> x = emulate_bf16_ && w.bf16 ? Bf16(x_in) : Q8(x_in, w.act_block);
    std::vector<double> y(n_out, 0.0);
    const size_t n = x.size();
    for (int r = 0; r < n_out; ++r)
      for (size_t c = 0; c < n; ++c) y[r] += w.v[r * n + c] * x[c];
    return y;
  }

  static void AddBias(std::vector<double>* y, const Tensor& b) {
    for (size_t i = 0; i < b.v.size(); ++i) (*y)[i] += b.v[i];
  }

  std::vector<double> RmsNorm(const std::vector<double>& x, const Tensor& t) const {
    const std::vector<double>& w = t.v;
    double ss = 0;
    for (double v : x) ss += v * v;
    const double inv = 1.0 / std::sqrt(ss / x.size() + eps_);
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * w[i];
    return y;
  }

  // Angle and cos/sin gain of rotated pair i at `pos`: plain, linear (positions ÷ factor),
  // llama3 (frequency ÷ rope_freqs[i]) or YaRN as the paper and transformers define it.
  void RopeAngle(int pos, int i, double* ang, double* gain) const {
    double freq = std::pow(theta_, -2.0 * i / hd_);
    if (!freq_div_.v.empty()) freq /= freq_div_.v[i];
    *gain = 1.0;
    if (scaling_ == "linear") {
      freq /= factor_;
    } else if (scaling_ == "yarn") {
      const double pi = 3.14159265358979323846;
      auto dim = [&](double rotations) {
        return hd_ * std::log(orig_ctx_ / (rotations * 2 * pi)) / (2 * std::log(theta_));
      };
      const double low = std::max(0.0, std::floor(dim(32)));
      const double high = std::min(hd_ - 1.0, std::ceil(dim(1)));
      const double ramp = std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
      const double keep = 1.0 - ramp;  // share of the original (extrapolated) frequency
      freq = freq / factor_ * (1 - keep) + freq * keep;
      *gain = 0.1 * std::log(factor_) + 1.0;
    }
    *ang = pos * freq;
  }

  void Rope(std::vector<double>* x, int n_heads, int pos) const {
    for (int h = 0; h < n_heads; ++h)
      for (int i = 0; i < hd_ / 2; ++i) {
        double ang, gain;
        RopeAngle(pos, i, &ang, &gain);
        const double c = std::cos(ang) * gain, s = std::sin(ang) * gain;
        const int a = h * hd_ + (neox_ ? i : 2 * i),
                  b = h * hd_ + (neox_ ? i + hd_ / 2 : 2 * i + 1);
        const double x0 = (*x)[a], x1 = (*x)[b];
        (*x)[a] = x0 * c - x1 * s;
        (*x)[b] = x0 * s + x1 * c;
      }
  }

  bool emulate_q8_ = false;
  bool emulate_bf16_ = false;
  bool ok_ = false;
  std::string arch_;
  int E_ = 0, L_ = 0, H_ = 0, Hkv_ = 0, F_ = 0, V_ = 0, hd_ = 0;
  double eps_ = 1e-6, theta_ = 10000, factor_ = 1, orig_ctx_ = 0;
  std::string scaling_ = "none";
  Tensor freq_div_;
  bool neox_ = false;
  Tensor embd_, out_norm_, out_;
  std::vector<Layer> layers_;
  std::vector<std::vector<std::vector<double>>> keys_, values_;  // [layer][pos][kv dim]
};

}  // namespace seekd::testing
