// IEEE binary16 and bfloat16 ↔ binary32 conversions, exact and without a table.
#pragma once

#include <cstdint>
#include <cstring>

namespace seekd {

inline float F32FromBits(uint32_t bits) {
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}
inline uint32_t BitsFromF32(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof bits);
  return bits;
}

// binary16 → binary32: every half value (incl. subnormals, inf, NaN payload) is exact in f32.
inline float F16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f;
  uint32_t mant = h & 0x3ff;
  if (exp == 0x1f) return F32FromBits(sign | 0x7f800000u | (mant << 13));  // inf / NaN
  if (exp != 0) return F32FromBits(sign | ((exp + 112) << 23) | (mant << 13));
  if (mant == 0) return F32FromBits(sign);  // ±0
  // Subnormal: normalize the mantissa.
  int e = -1;
  do {
    ++e;
    mant <<= 1;
  } while ((mant & 0x400) == 0);
  return F32FromBits(sign | static_cast<uint32_t>(112 - e) << 23 | ((mant & 0x3ff) << 13));
}

// binary32 → binary16, round to nearest even; overflow → inf; NaN stays NaN.
inline uint16_t F32ToF16(float f) {
  const uint32_t x = BitsFromF32(f);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  const uint32_t abs = x & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 : 0);
  if (abs >= 0x477ff000u) return sign | 0x7c00;  // rounds to ≥ 65520 → inf
  if (abs < 0x38800000u) {                       // below the smallest normal half: subnormal
    if (abs < 0x33000000u) return sign;          // < 2^-25 rounds to 0
    const uint32_t e = abs >> 23;
    const uint32_t m = (abs & 0x7fffff) | 0x800000;
    const uint32_t shift = 126 - e;  // 14..24
    uint32_t half = m >> shift;
    const uint32_t rem = m & ((1u << shift) - 1);
    const uint32_t mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) ++half;
    return sign | static_cast<uint16_t>(half);
  }
  uint32_t half = ((abs >> 13) - (112u << 10));
  const uint32_t rem = abs & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) ++half;
  return sign | static_cast<uint16_t>(half);
}

inline float Bf16ToF32(uint16_t b) { return F32FromBits(static_cast<uint32_t>(b) << 16); }

// binary32 → bfloat16, round to nearest even; NaN stays a quiet NaN.
inline uint16_t F32ToBf16(float f) {
  uint32_t x = BitsFromF32(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40);
  x += 0x7fff + ((x >> 16) & 1);
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace seekd
