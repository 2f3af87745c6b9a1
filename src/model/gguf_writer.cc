// Writes GGUF v3 in ggml's byte order (see gguf.h).
#include <cstring>
#include <fstream>

#include "model/gguf.h"

namespace seekd::model {
namespace {

class Buf {
 public:
  template <typename T>
  void Put(T v) {
    const size_t at = bytes.size();
    bytes.resize(at + sizeof v);
    std::memcpy(bytes.data() + at, &v, sizeof v);
  }
  void PutString(std::string_view s) {
    Put<uint64_t>(s.size());
    bytes.insert(bytes.end(), s.begin(), s.end());
  }
  void PadTo(uint64_t alignment) {
    while (bytes.size() % alignment != 0) bytes.push_back(0);
  }
  std::vector<uint8_t> bytes;
};

void PutValue(Buf& b, const GgufValue& v) {
  switch (v.type()) {
    case GgufType::kU8:
      b.Put<uint8_t>(static_cast<uint8_t>(*v.AsUInt()));
      break;
    case GgufType::kI8:
      b.Put<int8_t>(static_cast<int8_t>(*v.AsInt()));
      break;
    case GgufType::kU16:
      b.Put<uint16_t>(static_cast<uint16_t>(*v.AsUInt()));
      break;
    case GgufType::kI16:
      b.Put<int16_t>(static_cast<int16_t>(*v.AsInt()));
      break;
    case GgufType::kU32:
      b.Put<uint32_t>(static_cast<uint32_t>(*v.AsUInt()));
      break;
    case GgufType::kI32:
      b.Put<int32_t>(static_cast<int32_t>(*v.AsInt()));
      break;
    case GgufType::kU64:
      b.Put<uint64_t>(*v.AsUInt());
      break;
    case GgufType::kI64:
      b.Put<int64_t>(*v.AsInt());
      break;
    case GgufType::kF32:
      b.Put<float>(static_cast<float>(*v.AsFloat()));
      break;
    case GgufType::kF64:
      b.Put<double>(*v.AsFloat());
      break;
    case GgufType::kBool:
      b.Put<uint8_t>(*v.AsBool() ? 1 : 0);
      break;
    case GgufType::kString:
      b.PutString(*v.AsString());
      break;
    case GgufType::kArray:
      b.Put<uint32_t>(static_cast<uint32_t>(v.element_type()));
      b.Put<uint64_t>(v.size());
      for (const auto& e : v.elements()) PutValue(b, e);
      break;
  }
}

uint64_t PaddedSize(uint64_t n, uint64_t alignment) {
  return (n + alignment - 1) / alignment * alignment;
}

}  // namespace

void GgufWriter::Set(std::string key, GgufValue value) {
  std::erase_if(kv_, [&](const auto& kv) { return kv.first == key; });
  kv_.emplace_back(std::move(key), std::move(value));
}

Status GgufWriter::AddTensor(std::string name, DType dtype, std::vector<int64_t> shape,
                             std::span<const uint8_t> bytes) {
  if (shape.empty() || shape.size() > 4)
    return InvalidArgument("tensor '" + name + "': 1 to 4 dimensions");
  if (name.size() >= 64) return InvalidArgument("tensor name '" + name + "' is over 63 bytes");
  for (const auto& t : tensors_)
    if (t.name == name) return InvalidArgument("duplicate tensor '" + name + "'");
  uint64_t rows = 1;
  for (size_t i = 1; i < shape.size(); ++i) rows *= static_cast<uint64_t>(shape[i]);
  SEEKD_ASSIGN_OR_RETURN(uint64_t row, RowBytes(dtype, static_cast<uint64_t>(shape[0])));
  if (row * rows != bytes.size())
    return InvalidArgument("tensor '" + name + "': " + std::to_string(bytes.size()) +
                           " bytes given, shape and type need " + std::to_string(row * rows));
  tensors_.push_back({std::move(name), dtype, std::move(shape), {bytes.begin(), bytes.end()}});
  return Status::Ok();
}

uint64_t GgufWriter::Alignment() const {
  for (const auto& kv : kv_)
    if (kv.first == "general.alignment")
      if (auto n = kv.second.AsUInt(); n && *n > 0 && (*n & (*n - 1)) == 0) return *n;
  return 32;
}

std::vector<uint8_t> GgufWriter::ToBytes() const {
  const uint64_t alignment = Alignment();
  Buf b;
  b.Put<uint32_t>(0x46554747);
  b.Put<uint32_t>(3);
  b.Put<int64_t>(static_cast<int64_t>(tensors_.size()));
  b.Put<int64_t>(static_cast<int64_t>(kv_.size()));
  for (const auto& [key, value] : kv_) {
    b.PutString(key);
    b.Put<uint32_t>(static_cast<uint32_t>(value.type()));
    PutValue(b, value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors_) {
    b.PutString(t.name);
    b.Put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (int64_t ne : t.shape) b.Put<int64_t>(ne);
    b.Put<uint32_t>(static_cast<uint32_t>(t.dtype));
    b.Put<uint64_t>(offset);
    offset += PaddedSize(t.bytes.size(), alignment);
  }
  b.PadTo(alignment);
  for (const auto& t : tensors_) {
    b.bytes.insert(b.bytes.end(), t.bytes.begin(), t.bytes.end());
    b.PadTo(alignment);
  }
  return std::move(b.bytes);
}

Status GgufWriter::Write(const std::string& path) const {
  const std::vector<uint8_t> bytes = ToBytes();
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return IoError("cannot create '" + tmp + "'");
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) return IoError("short write to '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return IoError("cannot rename '" + tmp + "' to '" + path + "'");
  return Status::Ok();
}

}  // namespace seekd::model
