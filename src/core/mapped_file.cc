#include "core/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace seekd {

MappedFile::~MappedFile() {
  if (owns_mapping_ && data_ != nullptr && size_ > 0) munmap(const_cast<uint8_t*>(data_), size_);
}

MappedFile::MappedFile(MappedFile&& other) noexcept { *this = std::move(other); }

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    if (owns_mapping_ && data_ != nullptr && size_ > 0) munmap(const_cast<uint8_t*>(data_), size_);
    data_ = other.data_;
    size_ = other.size_;
    owns_mapping_ = other.owns_mapping_;
    path_ = std::move(other.path_);
    other.data_ = nullptr;
    other.size_ = 0;
    other.owns_mapping_ = false;
  }
  return *this;
}

Result<MappedFile> MappedFile::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("cannot open '" + path + "': " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    return IoError("cannot stat '" + path + "': " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return InvalidArgument("'" + path + "' is not a regular file");
  }
  MappedFile f;
  f.path_ = path;
  f.size_ = static_cast<size_t>(st.st_size);
  if (f.size_ > 0) {
    void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
      int e = errno;
      ::close(fd);
      return IoError("cannot map '" + path + "': " + std::strerror(e));
    }
    f.data_ = static_cast<const uint8_t*>(p);
    f.owns_mapping_ = true;
  }
  ::close(fd);
  return f;
}

MappedFile MappedFile::FromBuffer(std::span<const uint8_t> bytes, std::string name) {
  MappedFile f;
  f.data_ = bytes.data();
  f.size_ = bytes.size();
  f.path_ = std::move(name);
  return f;
}

Result<std::string> ReadFileToString(const std::string& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot open '" + path + "': " + std::strerror(errno));
  in.seekg(0, std::ios::end);
  auto end = in.tellg();
  if (end < 0) return IoError("cannot read '" + path + "'");
  if (static_cast<size_t>(end) > max_bytes)
    return OutOfRange("'" + path + "' is " + std::to_string(static_cast<long long>(end)) +
                      " bytes, over the limit of " + std::to_string(max_bytes));
  std::string s(static_cast<size_t>(end), '\0');
  in.seekg(0);
  in.read(s.data(), static_cast<std::streamsize>(s.size()));
  if (!in) return IoError("short read of '" + path + "'");
  return s;
}

}  // namespace seekd
