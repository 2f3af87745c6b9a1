// A read-only memory-mapped file. Model weights are used in place from the mapping.
//
// Thread-safety: immutable after Open(); the bytes may be read from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "core/status.h"

namespace seekd {

class MappedFile {
 public:
  MappedFile() = default;
  ~MappedFile();
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Maps the whole file read-only. An empty file maps to an empty span.
  static Result<MappedFile> Open(const std::string& path);
  // Wraps bytes the caller keeps alive (tests, fuzzers): no mapping, no copy.
  static MappedFile FromBuffer(std::span<const uint8_t> bytes, std::string name = "<memory>");

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  bool owns_mapping_ = false;
  std::string path_;
};

// Reads a whole (small) file into a string: config.json, tokenizer.json, templates.
Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes = size_t{1} << 30);

}  // namespace seekd
