// GGUF v2/v3 files: a bounds-checked reader over a memory mapping, and a writer that produces
// the same bytes as ggml's own writer for the same content (a reference test checks both ways).
//
// Every count, size and offset read from a file is validated before use: a truncated, corrupt or
// hostile file yields a Status naming what is wrong and where, never a crash, an out-of-bounds
// read or an allocation sized by an unchecked number. docs/design/model-files.md lists the rules.
//
// Thread-safety: a GgufFile is immutable after parsing; read it from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/status.h"

namespace seekd::model {

enum class GgufType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};
std::string_view GgufTypeName(GgufType t);

// One metadata value. Strings view the file's bytes (valid while the GgufFile lives) or, for
// values built by the writer, the value's own storage.
class GgufValue {
 public:
  GgufType type() const { return type_; }
  bool IsInteger() const;
  bool IsFloat() const { return type_ == GgufType::kF32 || type_ == GgufType::kF64; }

  // Any integer width converts when the value fits; otherwise nullopt.
  std::optional<int64_t> AsInt() const;
  std::optional<uint64_t> AsUInt() const;
  std::optional<double> AsFloat() const;  // floats and integers
  std::optional<bool> AsBool() const;
  std::optional<std::string_view> AsString() const;

  // Arrays.
  GgufType element_type() const { return elem_type_; }
  size_t size() const { return elems_.size(); }
  const GgufValue& operator[](size_t i) const { return elems_[i]; }
  const std::vector<GgufValue>& elements() const { return elems_; }

  // Short human form: 42, "text", [u32 × 3], ...
  std::string ToString(size_t max_elems = 8) const;

  // Builders (used by the writer and tests).
  static GgufValue U8(uint8_t v) { return Scalar(GgufType::kU8, v); }
  static GgufValue I8(int8_t v) { return Signed(GgufType::kI8, v); }
  static GgufValue U16(uint16_t v) { return Scalar(GgufType::kU16, v); }
  static GgufValue I16(int16_t v) { return Signed(GgufType::kI16, v); }
  static GgufValue U32(uint32_t v) { return Scalar(GgufType::kU32, v); }
  static GgufValue I32(int32_t v) { return Signed(GgufType::kI32, v); }
  static GgufValue U64(uint64_t v) { return Scalar(GgufType::kU64, v); }
  static GgufValue I64(int64_t v) { return Signed(GgufType::kI64, v); }
  static GgufValue F32(float v);
  static GgufValue F64(double v);
  static GgufValue Bool(bool v) { return Scalar(GgufType::kBool, v ? 1 : 0); }
  static GgufValue String(std::string v);
  static GgufValue Array(GgufType elem_type, std::vector<GgufValue> elems);
  static GgufValue StringArray(const std::vector<std::string>& v);

 private:
  friend class GgufParser;
  static GgufValue Scalar(GgufType t, uint64_t bits);
  static GgufValue Signed(GgufType t, int64_t v);

  GgufType type_ = GgufType::kU8;
  uint64_t bits_ =
      0;  // integer (two's complement for signed), bool, or float bits (f64 holds a double)
  std::string_view str_;
  std::shared_ptr<std::string> owned_;  // storage for writer-built strings
  GgufType elem_type_ = GgufType::kU8;
  std::vector<GgufValue> elems_;
};

struct GgufTensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // ne0 (fastest) first, as ggml orders dimensions
  uint64_t offset = 0;         // relative to the data section
  uint64_t n_bytes = 0;
  uint64_t n_elements = 0;
};

class GgufFile {
 public:
  static Result<GgufFile> Open(const std::string& path);
  // Parses bytes the caller keeps alive (fuzzers, tests).
  static Result<GgufFile> FromBytes(std::span<const uint8_t> bytes);

  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const { return file_.size(); }
  const std::string& path() const { return file_.path(); }

  // Metadata in file order.
  const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return kv_; }
  const GgufValue* Find(std::string_view key) const;

  // Typed access; NotFound when absent, InvalidArgument naming the key when the type differs.
  Result<std::string> GetString(std::string_view key) const;
  Result<uint64_t> GetUInt(std::string_view key) const;
  Result<double> GetFloat(std::string_view key) const;
  Result<bool> GetBool(std::string_view key) const;
  Result<std::vector<std::string>> GetStringArray(std::string_view key) const;
  // Defaults for optional keys (still an error if present with the wrong type).
  Result<uint64_t> GetUIntOr(std::string_view key, uint64_t fallback) const;
  Result<double> GetFloatOr(std::string_view key, double fallback) const;

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* FindTensor(std::string_view name) const;
  // The tensor's bytes inside the mapping (validated at parse time).
  std::span<const uint8_t> TensorData(const GgufTensorInfo& t) const;

 private:
  friend class GgufParser;
  MappedFile file_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

// Builds a GGUF v3 file in the order ggml writes one: header, metadata (in insertion order),
// tensor infos, padding to the alignment, tensor data each padded to the alignment.
class GgufWriter {
 public:
  // Setting an existing key removes it and appends the new value, as ggml's setters do.
  void Set(std::string key, GgufValue value);
  // Tensor bytes are copied; shape is ne0 first. Checks the byte count against dtype and shape.
  Status AddTensor(std::string name, DType dtype, std::vector<int64_t> shape,
                   std::span<const uint8_t> bytes);

  std::vector<uint8_t> ToBytes() const;
  Status Write(const std::string& path) const;

 private:
  uint64_t Alignment() const;
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<std::pair<std::string, GgufValue>> kv_;
  std::vector<Tensor> tensors_;
};

}  // namespace seekd::model
