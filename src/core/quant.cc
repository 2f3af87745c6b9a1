// Dequantizers follow the element order of each ggml block layout exactly (a reference test
// compares them bit-for-bit with ggml's own). Quantizers are simple and obviously valid.
#include "core/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "core/fp16.h"

namespace seekd {
void ScaleMinK4(int j, const uint8_t* s, uint8_t* sc, uint8_t* mn) {
  if (j < 4) {
    *sc = s[j] & 63;
    *mn = s[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
    *mn = static_cast<uint8_t>((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
  }
}

namespace {

inline float H(uint16_t h) { return F16ToF32(h); }

void DeqQ4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = H(b[i].d);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>((b[i].qs[j] & 0x0f) - 8) * d;
      y[j + kQK / 2] = static_cast<float>((b[i].qs[j] >> 4) - 8) * d;
    }
  }
}

void DeqQ4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = H(b[i].d), m = H(b[i].m);
    for (int j = 0; j < kQK / 2; ++j) {
      y[j] = static_cast<float>(b[i].qs[j] & 0x0f) * d + m;
      y[j + kQK / 2] = static_cast<float>(b[i].qs[j] >> 4) * d + m;
    }
  }
}

inline uint32_t Qh32(const uint8_t* qh) {
  uint32_t v;
  std::memcpy(&v, qh, 4);  // little-endian on every platform seekd builds for
  return v;
}

void DeqQ5_0(const BlockQ5_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = H(b[i].d);
    const uint32_t qh = Qh32(b[i].qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (b[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
      const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(lo - 16) * d;
      y[j + kQK / 2] = static_cast<float>(hi - 16) * d;
    }
  }
}

void DeqQ5_1(const BlockQ5_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = H(b[i].d), m = H(b[i].m);
    const uint32_t qh = Qh32(b[i].qh);
    for (int j = 0; j < kQK / 2; ++j) {
      const int lo = (b[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
      const int hi = (b[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
      y[j] = static_cast<float>(lo) * d + m;
      y[j + kQK / 2] = static_cast<float>(hi) * d + m;
    }
  }
}

void DeqQ8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = H(b[i].d);
    for (int j = 0; j < kQK; ++j) y[j] = static_cast<float>(b[i].qs[j]) * d;
  }
}

// Q2_K and Q3_K: element 128h + 32j + l sits in qs[32h + l] at bit 2j; its 16-element
// sub-block is 8h + 2j + (l >= 16).
void DeqQ2_K(const BlockQ2_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = H(b[i].d), dmin = H(b[i].dmin);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* q = b[i].qs + 32 * h;
      for (int j = 0; j < 4; ++j) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = b[i].scales[8 * h + 2 * j + half];
          const float dl = d * static_cast<float>(sc & 0x0f);
          const float ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l)
            *y++ = dl * static_cast<float>((q[l + 16 * half] >> (2 * j)) & 3) - ml;
        }
      }
    }
  }
}

// The 16 six-bit Q3_K scales: low nibbles in bytes 0..7, top two bits in bytes 8..11.
void UnpackQ3Scales(const uint8_t* raw, int8_t* out) {
  for (int j = 0; j < 16; ++j) {
    const int lo = j < 8 ? (raw[j] & 0x0f) : (raw[j - 8] >> 4);
    const int hi = (raw[8 + j % 4] >> (2 * (j / 4))) & 3;
    out[j] = static_cast<int8_t>((lo | (hi << 4)) - 32);
  }
}

void DeqQ3_K(const BlockQ3_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d_all = H(b[i].d);
    int8_t sc[16];
    UnpackQ3Scales(b[i].scales, sc);
    for (int h = 0; h < 2; ++h) {
      const uint8_t* q = b[i].qs + 32 * h;
      for (int j = 0; j < 4; ++j) {
        const uint8_t mask = static_cast<uint8_t>(1u << (4 * h + j));
        for (int half = 0; half < 2; ++half) {
          const float dl = d_all * static_cast<float>(sc[8 * h + 2 * j + half]);
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            const int v = ((q[l] >> (2 * j)) & 3) - ((b[i].hmask[l] & mask) ? 0 : 4);
            *y++ = dl * static_cast<float>(v);
          }
        }
      }
    }
  }
}

void DeqQ4_K(const BlockQ4_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = H(b[i].d), dmin = H(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int c = 0; c < 4; ++c, q += 32) {
      uint8_t sc, mn;
      ScaleMinK4(2 * c, b[i].scales, &sc, &mn);
      const float d1 = d * sc, m1 = dmin * mn;
      ScaleMinK4(2 * c + 1, b[i].scales, &sc, &mn);
      const float d2 = d * sc, m2 = dmin * mn;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0f) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void DeqQ5_K(const BlockQ5_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = H(b[i].d), dmin = H(b[i].dmin);
    const uint8_t* ql = b[i].qs;
    for (int c = 0; c < 4; ++c, ql += 32) {
      uint8_t sc, mn;
      ScaleMinK4(2 * c, b[i].scales, &sc, &mn);
      const float d1 = d * sc, m1 = dmin * mn;
      ScaleMinK4(2 * c + 1, b[i].scales, &sc, &mn);
      const float d2 = d * sc, m2 = dmin * mn;
      const uint8_t u1 = static_cast<uint8_t>(1u << (2 * c)),
                    u2 = static_cast<uint8_t>(2u << (2 * c));
      for (int l = 0; l < 32; ++l)
        *y++ = d1 * static_cast<float>((ql[l] & 0x0f) + ((b[i].qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l)
        *y++ = d2 * static_cast<float>((ql[l] >> 4) + ((b[i].qh[l] & u2) ? 16 : 0)) - m2;
    }
  }
}

void DeqQ6_K(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = H(b[i].d);
    for (int h = 0; h < 2; ++h, y += 128) {
      const uint8_t* ql = b[i].ql + 64 * h;
      const uint8_t* qh = b[i].qh + 32 * h;
      const int8_t* sc = b[i].scales + 8 * h;
      for (int l = 0; l < 32; ++l) {
        const int s = l / 16;
        const int q1 = ((ql[l] & 0x0f) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * sc[s] * static_cast<float>(q1);
        y[l + 32] = d * sc[s + 2] * static_cast<float>(q2);
        y[l + 64] = d * sc[s + 4] * static_cast<float>(q3);
        y[l + 96] = d * sc[s + 6] * static_cast<float>(q4);
      }
    }
  }
}

}  // namespace

bool CanDequantize(DType t) { return Traits(t).dequantize; }

bool CanQuantize(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kF16:
    case DType::kBF16:
    case DType::kQ4_0:
    case DType::kQ4_1:
    case DType::kQ5_0:
    case DType::kQ5_1:
    case DType::kQ8_0:
    case DType::kQ2_K:
    case DType::kQ3_K:
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K:
      return true;
    default:
      return false;
  }
}

Status Dequantize(DType t, const void* src, float* dst, int64_t n) {
  const DTypeTraits& tr = Traits(t);
  SEEKD_CHECK(n >= 0 && n % tr.block_size == 0);
  const int64_t nb = n / tr.block_size;
  switch (t) {
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * 4);
      break;
    case DType::kF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = F16ToF32(h[i]);
      break;
    }
    case DType::kBF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = Bf16ToF32(h[i]);
      break;
    }
    case DType::kQ4_0:
      DeqQ4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
      break;
    case DType::kQ4_1:
      DeqQ4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
      break;
    case DType::kQ5_0:
      DeqQ5_0(static_cast<const BlockQ5_0*>(src), dst, nb);
      break;
    case DType::kQ5_1:
      DeqQ5_1(static_cast<const BlockQ5_1*>(src), dst, nb);
      break;
    case DType::kQ8_0:
      DeqQ8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
      break;
    case DType::kQ2_K:
      DeqQ2_K(static_cast<const BlockQ2_K*>(src), dst, nb);
      break;
    case DType::kQ3_K:
      DeqQ3_K(static_cast<const BlockQ3_K*>(src), dst, nb);
      break;
    case DType::kQ4_K:
      DeqQ4_K(static_cast<const BlockQ4_K*>(src), dst, nb);
      break;
    case DType::kQ5_K:
      DeqQ5_K(static_cast<const BlockQ5_K*>(src), dst, nb);
      break;
    case DType::kQ6_K:
      DeqQ6_K(static_cast<const BlockQ6_K*>(src), dst, nb);
      break;
    default:
      return Unsupported("dequantizing " + std::string(tr.name) + " is not supported");
  }
  return Status::Ok();
}

}  // namespace seekd
