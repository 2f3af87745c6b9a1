// safetensors files (Hugging Face): an 8-byte header length, a JSON header, then raw tensor
// bytes. The reader validates the header against the file (offsets in range, sizes equal to
// shape × dtype, no overlaps, a header size limit) before anything is used; the writer makes
// test folders.
//
// Thread-safety: a SafetensorsFile is immutable after Open.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "core/status.h"

namespace seekd::model {

struct SafetensorsTensor {
  std::string name;
  std::string dtype;            // "F32", "F16", "BF16", "F8_E4M3", "I8", ...
  std::vector<int64_t> shape;   // row-major, slowest first (as PyTorch)
  uint64_t begin = 0, end = 0;  // relative to the data section
};

// Bytes per element of a safetensors dtype, or 0 if unknown.
uint64_t SafetensorsDTypeSize(const std::string& dtype);

class SafetensorsFile {
 public:
  static Result<SafetensorsFile> Open(const std::string& path);
  static Result<SafetensorsFile> FromBytes(std::span<const uint8_t> bytes);

  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  std::span<const uint8_t> TensorData(const SafetensorsTensor& t) const;
  uint64_t file_size() const { return file_.size(); }

 private:
  Status Parse();
  MappedFile file_;
  uint64_t data_offset_ = 0;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, std::string> metadata_;
};

struct SafetensorsWriterTensor {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
// Writes tensors in the given order (header keys sorted, as the reference writer does).
Status WriteSafetensors(const std::string& path,
                        const std::vector<SafetensorsWriterTensor>& tensors,
                        const std::map<std::string, std::string>& metadata = {});

}  // namespace seekd::model
