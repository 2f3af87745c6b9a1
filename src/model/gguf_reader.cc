// GGUF parsing with every read bounds-checked (see gguf.h).
#include <algorithm>
#include <cstring>
#include <type_traits>

#include "model/gguf.h"

namespace seekd::model {

namespace {
constexpr uint32_t kMagic = 0x46554747;  // "GGUF" little-endian
constexpr int kMaxArrayDepth = 8;        // nested arrays deeper than this are refused
constexpr size_t kMaxNameBytes = 64;     // llama.cpp's tensor name limit (incl. NUL)
constexpr int kMaxDims = 4;

// Smallest encoded size of one element of a type: bounds an array's count before allocating.
uint64_t MinEncodedSize(GgufType t) {
  switch (t) {
    case GgufType::kU8:
    case GgufType::kI8:
    case GgufType::kBool:
      return 1;
    case GgufType::kU16:
    case GgufType::kI16:
      return 2;
    case GgufType::kU32:
    case GgufType::kI32:
    case GgufType::kF32:
      return 4;
    case GgufType::kU64:
    case GgufType::kI64:
    case GgufType::kF64:
    case GgufType::kString:
      return 8;
    case GgufType::kArray:
      return 12;
  }
  return 1;
}

bool KnownType(uint32_t t) { return t <= static_cast<uint32_t>(GgufType::kF64); }
}  // namespace

class GgufParser {
 public:
  explicit GgufParser(GgufFile* f) : f_(f), data_(f->file_.data()), size_(f->file_.size()) {}

  Status Parse() {
    uint32_t magic = 0;
    SEEKD_RETURN_IF_ERROR(Read(&magic, "magic"));
    if (magic != kMagic) return Corrupt("not a GGUF file (bad magic)");
    SEEKD_RETURN_IF_ERROR(Read(&f_->version_, "version"));
    if ((f_->version_ & 0xffff) == 0) return Unsupported("big-endian GGUF files are not supported");
    if (f_->version_ == 1) return Unsupported("GGUF version 1 is obsolete; re-convert the model");
    if (f_->version_ > 3)
      return Unsupported("GGUF version " + std::to_string(f_->version_) + " is newer than 3");
    uint64_t n_tensors = 0, n_kv = 0;
    SEEKD_RETURN_IF_ERROR(Read(&n_tensors, "tensor count"));
    SEEKD_RETURN_IF_ERROR(Read(&n_kv, "metadata count"));
    // Each KV needs ≥ 13 bytes and each tensor info ≥ 28: refuse counts the file cannot hold.
    if (n_kv > Remaining() / 13)
      return Corrupt("metadata count " + std::to_string(n_kv) + " exceeds the file");
    if (n_tensors > Remaining() / 28)
      return Corrupt("tensor count " + std::to_string(n_tensors) + " exceeds the file");
    SEEKD_RETURN_IF_ERROR(ParseMetadata(n_kv));
    SEEKD_RETURN_IF_ERROR(ParseAlignment());
    SEEKD_RETURN_IF_ERROR(ParseTensorInfos(n_tensors));
    return ValidateTensorData();
  }

 private:
  uint64_t Remaining() const { return size_ - pos_; }

  template <typename T>
  Status Read(T* out, const char* what) {
    if (Remaining() < sizeof(T))
      return Corrupt(std::string("file truncated reading ") + what + " at byte " +
                     std::to_string(pos_));
    std::memcpy(out, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return Status::Ok();
  }

  Status ReadString(std::string_view* out, const std::string& what) {
    uint64_t len = 0;
    SEEKD_RETURN_IF_ERROR(Read(&len, "string length"));
    if (len > Remaining())
      return Corrupt(what + ": string of " + std::to_string(len) + " bytes at byte " +
                     std::to_string(pos_ - 8) + " runs past the end of the file");
    *out = std::string_view(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return Status::Ok();
  }

  // Integers are kept sign-extended to 64 bits; floats keep their bit pattern.
  template <typename T>
  Status ReadScalar(GgufValue* v) {
    T x{};
    SEEKD_RETURN_IF_ERROR(Read(&x, "value"));
    if constexpr (std::is_signed_v<T>)
      v->bits_ = static_cast<uint64_t>(static_cast<int64_t>(x));
    else
      v->bits_ = x;
    return Status::Ok();
  }

  Status ReadValue(GgufType type, GgufValue* v, const std::string& key, int depth) {
    v->type_ = type;
    switch (type) {
      case GgufType::kU8:
      case GgufType::kBool: {
        uint8_t x = 0;
        SEEKD_RETURN_IF_ERROR(Read(&x, "value"));
        if (type == GgufType::kBool && x > 1)
          return Corrupt("key '" + key + "': bool value " + std::to_string(x) + " is not 0 or 1");
        v->bits_ = x;
        return Status::Ok();
      }
      case GgufType::kI8:
        return ReadScalar<int8_t>(v);
      case GgufType::kU16:
        return ReadScalar<uint16_t>(v);
      case GgufType::kI16:
        return ReadScalar<int16_t>(v);
      case GgufType::kU32:
      case GgufType::kF32:
        return ReadScalar<uint32_t>(v);
      case GgufType::kI32:
        return ReadScalar<int32_t>(v);
      case GgufType::kU64:
      case GgufType::kI64:
      case GgufType::kF64:
        return ReadScalar<uint64_t>(v);
      case GgufType::kString:
        return ReadString(&v->str_, "key '" + key + "'");
      case GgufType::kArray:
        return ReadArray(v, key, depth);
    }
    return Corrupt("key '" + key + "': unknown value type");
  }

  Status ReadArray(GgufValue* v, const std::string& key, int depth) {
    if (depth >= kMaxArrayDepth)
      return Corrupt("key '" + key + "': arrays nested deeper than " +
                     std::to_string(kMaxArrayDepth));
    uint32_t et = 0;
    uint64_t n = 0;
    SEEKD_RETURN_IF_ERROR(Read(&et, "array type"));
    if (!KnownType(et))
      return Corrupt("key '" + key + "': unknown array element type " + std::to_string(et));
    SEEKD_RETURN_IF_ERROR(Read(&n, "array length"));
    v->elem_type_ = static_cast<GgufType>(et);
    if (n > Remaining() / MinEncodedSize(v->elem_type_))
      return Corrupt("key '" + key + "': array of " + std::to_string(n) + " " +
                     std::string(GgufTypeName(v->elem_type_)) + " runs past the end of the file");
    v->elems_.resize(n);
    for (uint64_t i = 0; i < n; ++i)
      SEEKD_RETURN_IF_ERROR(ReadValue(v->elem_type_, &v->elems_[i], key, depth + 1));
    return Status::Ok();
  }

  Status ParseMetadata(uint64_t n_kv) {
    f_->kv_.reserve(n_kv);
    for (uint64_t i = 0; i < n_kv; ++i) {
      std::string_view key;
      SEEKD_RETURN_IF_ERROR(ReadString(&key, "metadata key #" + std::to_string(i)));
      std::string k(key);
      if (f_->kv_index_.count(k)) return Corrupt("duplicate metadata key '" + k + "'");
      uint32_t type = 0;
      SEEKD_RETURN_IF_ERROR(Read(&type, "value type"));
      if (!KnownType(type))
        return Corrupt("key '" + k + "': unknown value type " + std::to_string(type));
      GgufValue v;
      SEEKD_RETURN_IF_ERROR(ReadValue(static_cast<GgufType>(type), &v, k, 0));
      f_->kv_index_.emplace(k, f_->kv_.size());
      f_->kv_.emplace_back(std::move(k), std::move(v));
    }
    return Status::Ok();
  }

  Status ParseAlignment() {
    const GgufValue* a = f_->Find("general.alignment");
    if (!a) return Status::Ok();
    auto n = a->AsUInt();
    if (a->type() != GgufType::kU32 || !n || *n == 0 || (*n & (*n - 1)) != 0)
      return Corrupt("general.alignment must be a u32 power of two, got " + a->ToString());
    f_->alignment_ = *n;
    return Status::Ok();
  }

  Status ParseTensorInfos(uint64_t n_tensors) {
    f_->tensors_.reserve(n_tensors);
    for (uint64_t i = 0; i < n_tensors; ++i) {
      GgufTensorInfo t;
      std::string_view name;
      SEEKD_RETURN_IF_ERROR(ReadString(&name, "tensor #" + std::to_string(i) + " name"));
      if (name.size() >= kMaxNameBytes)
        return Corrupt("tensor #" + std::to_string(i) + " name is " + std::to_string(name.size()) +
                       " bytes (limit 63)");
      t.name = std::string(name);
      if (f_->tensor_index_.count(t.name)) return Corrupt("duplicate tensor '" + t.name + "'");
      SEEKD_RETURN_IF_ERROR(ParseShapeAndType(&t));
      f_->tensor_index_.emplace(t.name, f_->tensors_.size());
      f_->tensors_.push_back(std::move(t));
    }
    // The data section starts at the next multiple of the alignment.
    const uint64_t al = f_->alignment_;
    f_->data_offset_ = (pos_ + al - 1) / al * al;
    return Status::Ok();
  }

  Status ParseShapeAndType(GgufTensorInfo* t) {
    const std::string where = "tensor '" + t->name + "'";
    uint32_t n_dims = 0;
    SEEKD_RETURN_IF_ERROR(Read(&n_dims, "dimension count"));
    if (n_dims == 0 || n_dims > kMaxDims)
      return Corrupt(where + " has " + std::to_string(n_dims) + " dimensions (1 to 4 allowed)");
    uint64_t n_elements = 1;
    for (uint32_t d = 0; d < n_dims; ++d) {
      int64_t ne = 0;
      SEEKD_RETURN_IF_ERROR(Read(&ne, "dimension"));
      if (ne < 0) return Corrupt(where + " has a negative dimension");
      if (MulOverflows(n_elements, static_cast<uint64_t>(ne), &n_elements) ||
          n_elements > (uint64_t{1} << 62))
        return Corrupt(where + " has an element count that overflows");
      t->shape.push_back(ne);
    }
    uint32_t type = 0;
    SEEKD_RETURN_IF_ERROR(Read(&type, "tensor type"));
    auto traits = TraitsOf(type);
    if (!traits) return Corrupt(where + " has unknown type id " + std::to_string(type));
    t->dtype = traits->type;
    SEEKD_RETURN_IF_ERROR(Read(&t->offset, "tensor offset"));
    t->n_elements = n_elements;
    auto row = RowBytes(t->dtype, static_cast<uint64_t>(t->shape[0]));
    if (!row.ok()) return Corrupt(where + ": " + row.status().message());
    uint64_t rows = n_elements / std::max<uint64_t>(1, t->shape[0]);
    if (t->shape[0] == 0) rows = 0;
    if (MulOverflows(*row, rows, &t->n_bytes)) return Corrupt(where + " byte size overflows");
    if (t->offset % f_->alignment_ != 0)
      return Corrupt(where + " offset " + std::to_string(t->offset) +
                     " is not a multiple of the alignment " + std::to_string(f_->alignment_));
    return Status::Ok();
  }

  Status ValidateTensorData() {
    const uint64_t data_size = f_->data_offset_ <= size_ ? size_ - f_->data_offset_ : 0;
    if (!f_->tensors_.empty() && f_->data_offset_ > size_)
      return Corrupt("file truncated: the data section starts past the end of the file");
    std::vector<const GgufTensorInfo*> by_offset;
    for (const auto& t : f_->tensors_) {
      uint64_t end = 0;
      if (AddOverflows(t.offset, t.n_bytes, &end) || end > data_size)
        return Corrupt("tensor '" + t.name + "' (" + std::to_string(t.n_bytes) +
                       " bytes at data offset " + std::to_string(t.offset) +
                       ") ends past the end of the file (data section is " +
                       std::to_string(data_size) + " bytes)");
      by_offset.push_back(&t);
    }
    std::sort(by_offset.begin(), by_offset.end(),
              [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i)
      if (by_offset[i - 1]->offset + by_offset[i - 1]->n_bytes > by_offset[i]->offset &&
          by_offset[i - 1]->n_bytes > 0 && by_offset[i]->n_bytes > 0)
        return Corrupt("tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name +
                       "' overlap");
    return Status::Ok();
  }

  GgufFile* f_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

Result<GgufFile> GgufFile::Open(const std::string& path) {
  SEEKD_ASSIGN_OR_RETURN(MappedFile mf, MappedFile::Open(path));
  GgufFile f;
  f.file_ = std::move(mf);
  Status st = GgufParser(&f).Parse();
  if (!st.ok()) return st.WithContext(path);
  return f;
}

Result<GgufFile> GgufFile::FromBytes(std::span<const uint8_t> bytes) {
  GgufFile f;
  f.file_ = MappedFile::FromBuffer(bytes);
  SEEKD_RETURN_IF_ERROR(GgufParser(&f).Parse());
  return f;
}

const GgufValue* GgufFile::Find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kv_[it->second].second;
}

namespace {
Status WrongType(std::string_view key, const GgufValue& v, const char* want) {
  return InvalidArgument("metadata key '" + std::string(key) + "' is " + v.ToString() +
                         ", expected " + want);
}
Status Missing(std::string_view key) {
  return NotFound("metadata key '" + std::string(key) + "' is missing");
}
}  // namespace

Result<std::string> GgufFile::GetString(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v) return Missing(key);
  auto s = v->AsString();
  if (!s) return WrongType(key, *v, "a string");
  return std::string(*s);
}

Result<uint64_t> GgufFile::GetUInt(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v) return Missing(key);
  auto n = v->AsUInt();
  if (!n) return WrongType(key, *v, "a non-negative integer");
  return *n;
}

Result<double> GgufFile::GetFloat(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v) return Missing(key);
  auto x = v->AsFloat();
  if (!x) return WrongType(key, *v, "a number");
  return *x;
}

Result<bool> GgufFile::GetBool(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v) return Missing(key);
  auto b = v->AsBool();
  if (!b) return WrongType(key, *v, "a bool");
  return *b;
}

Result<std::vector<std::string>> GgufFile::GetStringArray(std::string_view key) const {
  const GgufValue* v = Find(key);
  if (!v) return Missing(key);
  if (v->type() != GgufType::kArray || v->element_type() != GgufType::kString)
    return WrongType(key, *v, "an array of strings");
  std::vector<std::string> out;
  out.reserve(v->size());
  for (const auto& e : v->elements()) out.emplace_back(*e.AsString());
  return out;
}

Result<uint64_t> GgufFile::GetUIntOr(std::string_view key, uint64_t fallback) const {
  if (!Find(key)) return fallback;
  return GetUInt(key);
}

Result<double> GgufFile::GetFloatOr(std::string_view key, double fallback) const {
  if (!Find(key)) return fallback;
  return GetFloat(key);
}

const GgufTensorInfo* GgufFile::FindTensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::TensorData(const GgufTensorInfo& t) const {
  return file_.bytes().subspan(data_offset_ + t.offset, t.n_bytes);
}

}  // namespace seekd::model
