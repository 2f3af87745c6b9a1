// Reference quantizers (f32 → blocks). Legacy types reproduce ggml's reference rounding so the
// bytes match; K types use a direct min/max fit per sub-block (see quant.h).
#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"
#include "core/quant.h"

namespace seekd {
namespace {

// The legacy quantizers round by truncating x + 0.5 on purpose: that is the reference rounding
// whose bytes the tests require, so the rounding check is off for them.
// NOLINTBEGIN(bugprone-incorrect-roundings)

// The value of largest magnitude, keeping its sign.
float SignedAbsMax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j)
    if (std::fabs(x[j]) > amax) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  return max;
}

void QuantQ4_0(const float* x, BlockQ4_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    const float d = SignedAbsMax(x, kQK) / -8;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = F32ToF16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
      const int hi = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
      b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void QuantQ4_1(const float* x, BlockQ4_1* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < kQK; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
    const float d = (mx - mn) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = F32ToF16(d);
    b[i].m = F32ToF16(mn);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(15, static_cast<int>(static_cast<int8_t>((x[j] - mn) * id + 0.5f)));
      const int hi =
          std::min(15, static_cast<int>(static_cast<int8_t>((x[j + 16] - mn) * id + 0.5f)));
      b[i].qs[j] = static_cast<uint8_t>(lo | (hi << 4));
    }
  }
}

void QuantQ5_0(const float* x, BlockQ5_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    const float d = SignedAbsMax(x, kQK) / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = F32ToF16(d);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
      const int hi = std::min(31, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 16.5f)));
      b[i].qs[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>((lo & 0x10) >> 4) << j;
      qh |= static_cast<uint32_t>((hi & 0x10) >> 4) << (j + 16);
    }
    std::memcpy(b[i].qh, &qh, 4);
  }
}

void QuantQ5_1(const float* x, BlockQ5_1* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < kQK; ++j) mn = std::min(mn, x[j]), mx = std::max(mx, x[j]);
    const float d = (mx - mn) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = F32ToF16(d);
    b[i].m = F32ToF16(mn);
    uint32_t qh = 0;
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = static_cast<int>((x[j] - mn) * id + 0.5f);
      const int hi = static_cast<int>((x[j + 16] - mn) * id + 0.5f);
      b[i].qs[j] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
      qh |= static_cast<uint32_t>((lo & 0x10) >> 4) << j;
      qh |= static_cast<uint32_t>((hi & 0x10) >> 4) << (j + 16);
    }
    std::memcpy(b[i].qh, &qh, 4);
  }
}

void QuantQ8_0(const float* x, BlockQ8_0* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQK) {
    float amax = 0;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = F32ToF16(d);
    for (int j = 0; j < kQK; ++j) b[i].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
  }
}

// NOLINTEND(bugprone-incorrect-roundings)

int Clamp(int v, int lo, int hi) { return std::max(lo, std::min(hi, v)); }
int RoundToInt(float v) { return static_cast<int>(std::lround(v)); }

// Fits y = d·sc[s]·q − dmin·mn[s] per sub-block of `sub` elements, q in [0, qmax], with scales
// and mins quantized to `smax`. Writes q (0..qmax) per element, sc and mn per sub-block.
void FitAffine(const float* x, int n_sub, int sub, int qmax, int smax, float* d, float* dmin,
               uint8_t* sc, uint8_t* mn, uint8_t* q) {
  float scale[16], neg_min[16];
  float max_scale = 0, max_min = 0;
  for (int s = 0; s < n_sub; ++s) {
    float lo = 0, hi = 0;  // include 0 so the min is ≤ 0 (stored as a positive offset)
    for (int l = 0; l < sub; ++l)
      lo = std::min(lo, x[s * sub + l]), hi = std::max(hi, x[s * sub + l]);
    scale[s] = (hi - lo) / qmax;
    neg_min[s] = -lo;
    max_scale = std::max(max_scale, scale[s]);
    max_min = std::max(max_min, neg_min[s]);
  }
  *d = F16ToF32(F32ToF16(max_scale / smax));
  *dmin = F16ToF32(F32ToF16(max_min / smax));
  for (int s = 0; s < n_sub; ++s) {
    sc[s] = static_cast<uint8_t>(*d > 0 ? Clamp(RoundToInt(scale[s] / *d), 0, smax) : 0);
    mn[s] = static_cast<uint8_t>(*dmin > 0 ? Clamp(RoundToInt(neg_min[s] / *dmin), 0, smax) : 0);
    const float ds = *d * sc[s], ms = *dmin * mn[s];
    for (int l = 0; l < sub; ++l) {
      const float v = x[s * sub + l];
      q[s * sub + l] = static_cast<uint8_t>(ds > 0 ? Clamp(RoundToInt((v + ms) / ds), 0, qmax) : 0);
    }
  }
}

void PackScalesK4(const uint8_t* sc, const uint8_t* mn, uint8_t* s) {
  std::memset(s, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      s[j] = sc[j] & 63;
      s[j + 4] = mn[j] & 63;
    } else {
      s[j + 4] = static_cast<uint8_t>((sc[j] & 0x0f) | ((mn[j] & 0x0f) << 4));
      s[j - 4] |= static_cast<uint8_t>((sc[j] >> 4) << 6);
      s[j] |= static_cast<uint8_t>((mn[j] >> 4) << 6);
    }
  }
}

void QuantQ4_K(const float* x, BlockQ4_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float d, dmin;
    uint8_t sc[8], mn[8], q[kQKK];
    FitAffine(x, 8, 32, 15, 63, &d, &dmin, sc, mn, q);
    b[i].d = F32ToF16(d);
    b[i].dmin = F32ToF16(dmin);
    PackScalesK4(sc, mn, b[i].scales);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        b[i].qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void QuantQ5_K(const float* x, BlockQ5_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float d, dmin;
    uint8_t sc[8], mn[8], q[kQKK];
    FitAffine(x, 8, 32, 31, 63, &d, &dmin, sc, mn, q);
    b[i].d = F32ToF16(d);
    b[i].dmin = F32ToF16(dmin);
    PackScalesK4(sc, mn, b[i].scales);
    std::memset(b[i].qh, 0, sizeof b[i].qh);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l) {
        const int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
        b[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0x0f) | ((hi & 0x0f) << 4));
        b[i].qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
  }
}

void QuantQ2_K(const float* x, BlockQ2_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float d, dmin;
    uint8_t sc[16], mn[16], q[kQKK];
    FitAffine(x, 16, 16, 3, 15, &d, &dmin, sc, mn, q);
    b[i].d = F32ToF16(d);
    b[i].dmin = F32ToF16(dmin);
    for (int s = 0; s < 16; ++s) b[i].scales[s] = static_cast<uint8_t>(sc[s] | (mn[s] << 4));
    std::memset(b[i].qs, 0, sizeof b[i].qs);
    for (int e = 0; e < kQKK; ++e) {
      const int h = e / 128, j = (e % 128) / 32, l = e % 32;
      b[i].qs[32 * h + l] |= static_cast<uint8_t>(q[e] << (2 * j));
    }
  }
}

// Symmetric fit per 16-element sub-block: y = d·sc[s]·q, q in [qmin, qmax], sc in [-smax, smax].
void FitSymmetric(const float* x, int qmin, int qmax, int smax, float* d, int* sc, int* q) {
  float scale[16], dmax = 0;
  for (int s = 0; s < 16; ++s) {
    scale[s] = SignedAbsMax(x + 16 * s, 16) / static_cast<float>(qmin);  // extreme → qmin
    dmax = std::max(dmax, std::fabs(scale[s]));
  }
  *d = F16ToF32(F32ToF16(dmax / smax));
  for (int s = 0; s < 16; ++s) {
    sc[s] = *d > 0 ? Clamp(RoundToInt(scale[s] / *d), -smax, smax) : 0;
    const float ds = *d * static_cast<float>(sc[s]);
    for (int l = 0; l < 16; ++l)
      q[16 * s + l] = ds != 0 ? Clamp(RoundToInt(x[16 * s + l] / ds), qmin, qmax) : 0;
  }
}

void QuantQ3_K(const float* x, BlockQ3_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float d;
    int sc[16], q[kQKK];
    FitSymmetric(x, -4, 3, 31, &d, sc, q);
    b[i].d = F32ToF16(d);
    std::memset(b[i].scales, 0, 12);
    for (int j = 0; j < 16; ++j) {
      const int v = sc[j] + 32;  // stored biased, 6 bits
      if (j < 8)
        b[i].scales[j] |= static_cast<uint8_t>(v & 0x0f);
      else
        b[i].scales[j - 8] |= static_cast<uint8_t>((v & 0x0f) << 4);
      b[i].scales[8 + j % 4] |= static_cast<uint8_t>((v >> 4) << (2 * (j / 4)));
    }
    std::memset(b[i].qs, 0, sizeof b[i].qs);
    std::memset(b[i].hmask, 0, sizeof b[i].hmask);
    for (int e = 0; e < kQKK; ++e) {
      const int h = e / 128, j = (e % 128) / 32, l = e % 32;
      const int u = q[e] + 4;  // 0..7: low two bits in qs, bit 2 in hmask
      b[i].qs[32 * h + l] |= static_cast<uint8_t>((u & 3) << (2 * j));
      if (u & 4) b[i].hmask[l] |= static_cast<uint8_t>(1u << (4 * h + j));
    }
  }
}

void QuantQ6_K(const float* x, BlockQ6_K* b, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, x += kQKK) {
    float d;
    int sc[16], q[kQKK];
    FitSymmetric(x, -32, 31, 127, &d, sc, q);
    b[i].d = F32ToF16(d);
    for (int s = 0; s < 16; ++s) b[i].scales[s] = static_cast<int8_t>(sc[s]);
    std::memset(b[i].ql, 0, sizeof b[i].ql);
    std::memset(b[i].qh, 0, sizeof b[i].qh);
    for (int h = 0; h < 2; ++h)
      for (int l = 0; l < 32; ++l) {
        const int* qq = q + 128 * h;
        const int q1 = qq[l] + 32, q2 = qq[l + 32] + 32, q3 = qq[l + 64] + 32, q4 = qq[l + 96] + 32;
        b[i].ql[64 * h + l] = static_cast<uint8_t>((q1 & 0x0f) | ((q3 & 0x0f) << 4));
        b[i].ql[64 * h + l + 32] = static_cast<uint8_t>((q2 & 0x0f) | ((q4 & 0x0f) << 4));
        b[i].qh[32 * h + l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) |
                                                   ((q4 >> 4) << 6));
      }
  }
}

}  // namespace

Status Quantize(DType t, const float* src, void* dst, int64_t n) {
  const DTypeTraits& tr = Traits(t);
  SEEKD_CHECK(n >= 0 && n % tr.block_size == 0);
  const int64_t nb = n / tr.block_size;
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      break;
    case DType::kF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = F32ToF16(src[i]);
      break;
    }
    case DType::kBF16: {
      auto* h = static_cast<uint16_t*>(dst);
      for (int64_t i = 0; i < n; ++i) h[i] = F32ToBf16(src[i]);
      break;
    }
    case DType::kQ4_0:
      QuantQ4_0(src, static_cast<BlockQ4_0*>(dst), nb);
      break;
    case DType::kQ4_1:
      QuantQ4_1(src, static_cast<BlockQ4_1*>(dst), nb);
      break;
    case DType::kQ5_0:
      QuantQ5_0(src, static_cast<BlockQ5_0*>(dst), nb);
      break;
    case DType::kQ5_1:
      QuantQ5_1(src, static_cast<BlockQ5_1*>(dst), nb);
      break;
    case DType::kQ8_0:
      QuantQ8_0(src, static_cast<BlockQ8_0*>(dst), nb);
      break;
    case DType::kQ2_K:
      QuantQ2_K(src, static_cast<BlockQ2_K*>(dst), nb);
      break;
    case DType::kQ3_K:
      QuantQ3_K(src, static_cast<BlockQ3_K*>(dst), nb);
      break;
    case DType::kQ4_K:
      QuantQ4_K(src, static_cast<BlockQ4_K*>(dst), nb);
      break;
    case DType::kQ5_K:
      QuantQ5_K(src, static_cast<BlockQ5_K*>(dst), nb);
      break;
    case DType::kQ6_K:
      QuantQ6_K(src, static_cast<BlockQ6_K*>(dst), nb);
      break;
    default:
      return Unsupported("quantizing to " + std::string(tr.name) + " is not supported");
  }
  return Status::Ok();
}

}  // namespace seekd
