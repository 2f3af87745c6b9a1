#include "model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <fstream>

#include "core/dtype.h"

namespace seekd::model {

namespace {
constexpr uint64_t kMaxHeaderBytes = 100u << 20;  // the reference implementation's limit
}

uint64_t SafetensorsDTypeSize(const std::string& d) {
  if (d == "F64" || d == "I64" || d == "U64") return 8;
  if (d == "F32" || d == "I32" || d == "U32") return 4;
  if (d == "F16" || d == "BF16" || d == "I16" || d == "U16") return 2;
  if (d == "I8" || d == "U8" || d == "BOOL" || d == "F8_E4M3" || d == "F8_E5M2") return 1;
  return 0;
}

Result<SafetensorsFile> SafetensorsFile::Open(const std::string& path) {
  SEEKD_ASSIGN_OR_RETURN(MappedFile mf, MappedFile::Open(path));
  SafetensorsFile f;
  f.file_ = std::move(mf);
  if (Status st = f.Parse(); !st.ok()) return st.WithContext(path);
  return f;
}

Result<SafetensorsFile> SafetensorsFile::FromBytes(std::span<const uint8_t> bytes) {
  SafetensorsFile f;
  f.file_ = MappedFile::FromBuffer(bytes);
  SEEKD_RETURN_IF_ERROR(f.Parse());
  return f;
}

Status SafetensorsFile::Parse() {
  const uint64_t size = file_.size();
  if (size < 8) return Corrupt("file truncated: no header length");
  uint64_t n = 0;
  std::memcpy(&n, file_.data(), 8);
  if (n > kMaxHeaderBytes)
    return Corrupt("header length " + std::to_string(n) + " is over the 100 MiB limit");
  if (n > size - 8)
    return Corrupt("header of " + std::to_string(n) + " bytes runs past the end of the file");
  data_offset_ = 8 + n;
  const uint64_t data_size = size - data_offset_;
  nlohmann::json h;
  try {
    h = nlohmann::json::parse(reinterpret_cast<const char*>(file_.data()) + 8,
                              reinterpret_cast<const char*>(file_.data()) + 8 + n);
  } catch (const nlohmann::json::exception& e) {
    return Corrupt(std::string("header is not JSON: ") + e.what());
  }
  if (!h.is_object()) return Corrupt("header is not a JSON object");
  for (auto it = h.begin(); it != h.end(); ++it) {
    const std::string& key = it.key();
    const auto& v = it.value();
    if (key == "__metadata__") {
      if (!v.is_object()) return Corrupt("__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m)
        if (m.value().is_string()) metadata_[m.key()] = m.value().get<std::string>();
      continue;
    }
    const std::string where = "tensor '" + key + "'";
    if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") ||
        !v.contains("data_offsets"))
      return Corrupt(where + " lacks dtype, shape or data_offsets");
    SafetensorsTensor t;
    t.name = key;
    if (!v["dtype"].is_string()) return Corrupt(where + ": dtype is not a string");
    t.dtype = v["dtype"].get<std::string>();
    const uint64_t es = SafetensorsDTypeSize(t.dtype);
    if (es == 0) return Unsupported(where + ": dtype " + t.dtype);
    const auto& shape = v["shape"];
    const auto& off = v["data_offsets"];
    if (!shape.is_array() || shape.size() > 8)
      return Corrupt(where + ": shape is not a short array");
    uint64_t count = 1;
    for (const auto& d : shape) {
      if (!d.is_number_unsigned())
        return Corrupt(where + ": a dimension is not a non-negative integer");
      t.shape.push_back(d.get<int64_t>());
      if (MulOverflows(count, d.get<uint64_t>(), &count))
        return Corrupt(where + ": element count overflows");
    }
    if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
        !off[1].is_number_unsigned())
      return Corrupt(where + ": data_offsets must be two non-negative integers");
    t.begin = off[0].get<uint64_t>();
    t.end = off[1].get<uint64_t>();
    uint64_t bytes = 0;
    if (MulOverflows(count, es, &bytes)) return Corrupt(where + ": byte size overflows");
    if (t.begin > t.end || t.end > data_size)
      return Corrupt(where + ": data_offsets [" + std::to_string(t.begin) + ", " +
                     std::to_string(t.end) + ") outside the data section of " +
                     std::to_string(data_size) + " bytes");
    if (t.end - t.begin != bytes)
      return Corrupt(where + ": " + std::to_string(t.end - t.begin) +
                     " bytes for a shape needing " + std::to_string(bytes));
    tensors_.push_back(std::move(t));
  }
  std::vector<const SafetensorsTensor*> by;
  for (const auto& t : tensors_) by.push_back(&t);
  std::sort(by.begin(), by.end(), [](auto* a, auto* b) { return a->begin < b->begin; });
  for (size_t i = 1; i < by.size(); ++i)
    if (by[i - 1]->end > by[i]->begin && by[i]->end > by[i]->begin)
      return Corrupt("tensors '" + by[i - 1]->name + "' and '" + by[i]->name + "' overlap");
  return Status::Ok();
}

std::span<const uint8_t> SafetensorsFile::TensorData(const SafetensorsTensor& t) const {
  return file_.bytes().subspan(data_offset_ + t.begin, t.end - t.begin);
}

Status WriteSafetensors(const std::string& path,
                        const std::vector<SafetensorsWriterTensor>& tensors,
                        const std::map<std::string, std::string>& metadata) {
  nlohmann::json h = nlohmann::json::object();
  if (!metadata.empty()) h["__metadata__"] = metadata;
  uint64_t off = 0;
  for (const auto& t : tensors) {
    h[t.name] = {
        {"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {off, off + t.bytes.size()}}};
    off += t.bytes.size();
  }
  std::string header = h.dump();
  while ((8 + header.size()) % 8 != 0) header.push_back(' ');  // align the data section
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return IoError("cannot create '" + path + "'");
  const uint64_t n = header.size();
  out.write(reinterpret_cast<const char*>(&n), 8);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  for (const auto& t : tensors)
    out.write(reinterpret_cast<const char*>(t.bytes.data()),
              static_cast<std::streamsize>(t.bytes.size()));
  if (!out) return IoError("short write to '" + path + "'");
  return Status::Ok();
}

}  // namespace seekd::model
