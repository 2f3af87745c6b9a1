#include <cstring>
#include <limits>

#include "model/gguf.h"

namespace seekd::model {

std::string_view GgufTypeName(GgufType t) {
  switch (t) {
    case GgufType::kU8:
      return "u8";
    case GgufType::kI8:
      return "i8";
    case GgufType::kU16:
      return "u16";
    case GgufType::kI16:
      return "i16";
    case GgufType::kU32:
      return "u32";
    case GgufType::kI32:
      return "i32";
    case GgufType::kF32:
      return "f32";
    case GgufType::kBool:
      return "bool";
    case GgufType::kString:
      return "string";
    case GgufType::kArray:
      return "array";
    case GgufType::kU64:
      return "u64";
    case GgufType::kI64:
      return "i64";
    case GgufType::kF64:
      return "f64";
  }
  return "?";
}

namespace {
bool IsSignedType(GgufType t) {
  return t == GgufType::kI8 || t == GgufType::kI16 || t == GgufType::kI32 || t == GgufType::kI64;
}
}  // namespace

bool GgufValue::IsInteger() const {
  switch (type_) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kU16:
    case GgufType::kI16:
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kU64:
    case GgufType::kI64:
      return true;
    default:
      return false;
  }
}

std::optional<int64_t> GgufValue::AsInt() const {
  if (!IsInteger()) return std::nullopt;
  if (IsSignedType(type_)) return static_cast<int64_t>(bits_);
  if (bits_ > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
  return static_cast<int64_t>(bits_);
}

std::optional<uint64_t> GgufValue::AsUInt() const {
  if (!IsInteger()) return std::nullopt;
  if (IsSignedType(type_) && static_cast<int64_t>(bits_) < 0) return std::nullopt;
  return bits_;
}

std::optional<double> GgufValue::AsFloat() const {
  if (type_ == GgufType::kF32) {
    float f;
    uint32_t b = static_cast<uint32_t>(bits_);
    std::memcpy(&f, &b, 4);
    return f;
  }
  if (type_ == GgufType::kF64) {
    double d;
    std::memcpy(&d, &bits_, 8);
    return d;
  }
  if (IsSignedType(type_)) return static_cast<double>(static_cast<int64_t>(bits_));
  if (IsInteger()) return static_cast<double>(bits_);
  return std::nullopt;
}

std::optional<bool> GgufValue::AsBool() const {
  if (type_ != GgufType::kBool) return std::nullopt;
  return bits_ != 0;
}

std::optional<std::string_view> GgufValue::AsString() const {
  if (type_ != GgufType::kString) return std::nullopt;
  return str_;
}

std::string GgufValue::ToString(size_t max_elems) const {
  switch (type_) {
    case GgufType::kString: {
      std::string s(str_.substr(0, 80));
      return "\"" + s + (str_.size() > 80 ? "…" : "") + "\"";
    }
    case GgufType::kBool:
      return bits_ ? "true" : "false";
    case GgufType::kF32:
    case GgufType::kF64:
      return std::to_string(*AsFloat());
    case GgufType::kArray: {
      std::string s =
          "[" + std::string(GgufTypeName(elem_type_)) + " × " + std::to_string(elems_.size());
      if (elems_.size() <= max_elems && elem_type_ != GgufType::kArray) {
        s += ":";
        for (const auto& e : elems_) s += " " + e.ToString(max_elems);
      }
      return s + "]";
    }
    default:
      return IsSignedType(type_) ? std::to_string(static_cast<int64_t>(bits_))
                                 : std::to_string(bits_);
  }
}

GgufValue GgufValue::Scalar(GgufType t, uint64_t bits) {
  GgufValue v;
  v.type_ = t;
  v.bits_ = bits;
  return v;
}

GgufValue GgufValue::Signed(GgufType t, int64_t x) { return Scalar(t, static_cast<uint64_t>(x)); }

GgufValue GgufValue::F32(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return Scalar(GgufType::kF32, b);
}

GgufValue GgufValue::F64(double d) {
  uint64_t b;
  std::memcpy(&b, &d, 8);
  return Scalar(GgufType::kF64, b);
}

GgufValue GgufValue::String(std::string s) {
  GgufValue v;
  v.type_ = GgufType::kString;
  v.owned_ = std::make_shared<std::string>(std::move(s));
  v.str_ = *v.owned_;
  return v;
}

GgufValue GgufValue::Array(GgufType elem_type, std::vector<GgufValue> elems) {
  GgufValue v;
  v.type_ = GgufType::kArray;
  v.elem_type_ = elem_type;
  v.elems_ = std::move(elems);
  return v;
}

GgufValue GgufValue::StringArray(const std::vector<std::string>& strs) {
  std::vector<GgufValue> elems;
  elems.reserve(strs.size());
  for (const auto& s : strs) elems.push_back(String(s));
  return Array(GgufType::kString, std::move(elems));
}

}  // namespace seekd::model
