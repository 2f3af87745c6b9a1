#include "core/ops.h"

#include <cmath>
#include <vector>

#include "core/quant.h"

namespace seekd::ops {

void RmsNorm(const float* x, const float* w, int64_t n, float eps, float* y) {
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
  const float scale = static_cast<float>(1.0 / std::sqrt(sum / static_cast<double>(n) + eps));
  for (int64_t i = 0; i < n; ++i) y[i] = w[i] * (x[i] * scale);
}

void Softmax(float* x, int64_t n) {
  if (n <= 0) return;
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  const float inv = static_cast<float>(1.0 / sum);
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void SiluMul(const float* gate, const float* up, int64_t n, float* y) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i];
    y[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void Rope(float* x, int64_t n_head, int64_t head_dim, int64_t pos, const RopeParams& p) {
  SEEKD_CHECK(p.n_rot >= 0 && p.n_rot <= head_dim && p.n_rot % 2 == 0);
  const int64_t half = p.n_rot / 2;
  for (int64_t h = 0; h < n_head; ++h) {
    float* v = x + h * head_dim;
    for (int64_t i = 0; i < half; ++i) {
      const double freq =
          std::pow(p.theta, -2.0 * static_cast<double>(i) / static_cast<double>(p.n_rot));
      const double angle = static_cast<double>(pos) * p.freq_scale * freq;
      const float c = static_cast<float>(std::cos(angle)), s = static_cast<float>(std::sin(angle));
      // The two elements of pair i: adjacent (NORM) or half a rotation apart (NEOX).
      const int64_t a = p.layout == RopeLayout::kNorm ? 2 * i : i;
      const int64_t b = p.layout == RopeLayout::kNorm ? 2 * i + 1 : i + half;
      const float x0 = v[a], x1 = v[b];
      v[a] = x0 * c - x1 * s;
      v[b] = x0 * s + x1 * c;
    }
  }
}

Status MatVec(DType dtype, std::span<const uint8_t> weight, int64_t n_rows, int64_t n_cols,
              const float* x, float* y) {
  if (n_rows < 0 || n_cols < 0) return InvalidArgument("negative matrix shape");
  if (!CanDequantize(dtype)) return Unsupported("matrix type " + std::string(DTypeName(dtype)));
  SEEKD_ASSIGN_OR_RETURN(uint64_t row_bytes, RowBytes(dtype, static_cast<uint64_t>(n_cols)));
  uint64_t total = 0;
  if (MulOverflows(row_bytes, static_cast<uint64_t>(n_rows), &total) || total > weight.size())
    return InvalidArgument("weight holds " + std::to_string(weight.size()) +
                           " bytes, the shape needs " + std::to_string(total));
  std::vector<float> row(static_cast<size_t>(n_cols));
  for (int64_t r = 0; r < n_rows; ++r) {
    SEEKD_RETURN_IF_ERROR(Dequantize(dtype, weight.data() + r * row_bytes, row.data(), n_cols));
    double acc = 0;
    for (int64_t c = 0; c < n_cols; ++c) acc += static_cast<double>(row[c]) * x[c];
    y[r] = static_cast<float>(acc);
  }
  return Status::Ok();
}

}  // namespace seekd::ops
