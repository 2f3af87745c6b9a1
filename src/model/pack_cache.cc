// The packed-weight disk cache (pack_cache.h): key, file format, lookup, writing, eviction.
#include "model/pack_cache.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <random>
#include <sstream>

namespace seekd::model {
namespace {

namespace fs = std::filesystem;

constexpr char kMagic[8] = {'S', 'E', 'E', 'K', 'D', 'P', 'K', 1};
constexpr uint64_t kPage = 4096;
constexpr uint64_t kMatrixRecord = 48;  // dtype u32, pad u32, rows, cols, bytes, group, offset
constexpr uint64_t kMinFree = uint64_t{1} << 30;  // room the cache always leaves on the disk
constexpr const char* kKeyHead = "seekd packed weights v1\n";

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// A 64-bit hash of a byte run for corruption checks (not an adversarial one): eight
// independent multiply-xorshift lanes over 64-byte blocks, so it runs near memory speed.
uint64_t Hash64(const uint8_t* p, uint64_t n) {
  constexpr uint64_t kMul = 0x9E3779B97F4A7C15ull;
  uint64_t h[8];
  for (int l = 0; l < 8; ++l) h[l] = kMul * static_cast<uint64_t>(l + 1) ^ n;
  uint64_t i = 0;
  for (; i + 64 <= n; i += 64)
    for (int l = 0; l < 8; ++l) {
      uint64_t w;
      std::memcpy(&w, p + i + 8 * l, 8);
      h[l] = (h[l] ^ w) * kMul;
      h[l] ^= h[l] >> 29;
    }
  uint8_t tail[64] = {};
  std::memcpy(tail, p + i, n - i);
  uint64_t out = 0;
  for (int l = 0; l < 8; ++l) {
    uint64_t w;
    std::memcpy(&w, tail + 8 * l, 8);
    h[l] = (h[l] ^ w) * kMul;
    h[l] ^= h[l] >> 29;
    out = (out ^ h[l]) * kMul;
    out ^= out >> 31;
  }
  return out;
}

std::string Hex16(uint64_t v) {
  static const char* kDigits = "0123456789abcdef";
  std::string s(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4) s[static_cast<size_t>(i)] = kDigits[v & 15];
  return s;
}

uint64_t MtimeNs(const struct stat& st) {
  return static_cast<uint64_t>(st.st_mtim.tv_sec) * 1000000000ull +
         static_cast<uint64_t>(st.st_mtim.tv_nsec);
}

// Marks a cache file as just used: its mtime is the eviction order. An explicit fine-grained
// time, since the kernel stamps files with a coarse clock (ticks of a few ms) that would tie.
void Touch(const std::string& path) {
  struct timespec now[2];
  clock_gettime(CLOCK_REALTIME, &now[0]);
  now[1] = now[0];
  utimensat(AT_FDCWD, path.c_str(), now, 0);
}

std::string SourceLine(const std::string& path, const struct stat& st) {
  return "source " + std::to_string(st.st_size) + " " + std::to_string(MtimeNs(st)) + " " +
         std::to_string(st.st_dev) + " " + std::to_string(st.st_ino) + " " + path + "\n";
}

// Little-endian fields in and out of the header.
void Put(std::string* s, const void* p, size_t n) { s->append(static_cast<const char*>(p), n); }
void PutU32(std::string* s, uint32_t v) { Put(s, &v, 4); }
void PutU64(std::string* s, uint64_t v) { Put(s, &v, 8); }

class Reader {
 public:
  Reader(const uint8_t* p, uint64_t n) : p_(p), n_(n) {}
  bool U32(uint32_t* v) { return Get(v, 4); }
  bool U64(uint64_t* v) { return Get(v, 8); }
  bool Str(uint64_t len, std::string* s) {
    if (len > n_ - at_) return false;
    s->assign(reinterpret_cast<const char*>(p_ + at_), len);
    at_ += len;
    return true;
  }
  uint64_t at() const { return at_; }

 private:
  bool Get(void* v, uint64_t len) {
    if (len > n_ - at_) return false;
    std::memcpy(v, p_ + at_, len);
    at_ += len;
    return true;
  }
  const uint8_t* p_;
  uint64_t n_, at_ = 0;
};

struct Layout {
  uint64_t header_bytes = 0, file_bytes = 0;
  std::vector<uint64_t> offsets;  // per matrix
};

Layout PlanLayout(uint64_t key_len, std::span<const PackedMatrixInfo> m) {
  Layout l;
  const uint64_t header = 8 + 8 + 8 + 4 + key_len + 4 + kMatrixRecord * m.size() + 8;
  l.header_bytes = RoundUp(header, kPage);
  uint64_t at = l.header_bytes;
  for (const PackedMatrixInfo& x : m) {
    l.offsets.push_back(at);
    at = RoundUp(at + x.bytes, kPage);
  }
  l.file_bytes = at;
  return l;
}

// Reads the key text of a cache file (for eviction), or "" if it is not one.
std::string ReadKeyText(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  uint8_t head[28];
  std::string key;
  if (pread(fd, head, sizeof head, 0) == static_cast<ssize_t>(sizeof head) &&
      std::memcmp(head, kMagic, 8) == 0) {
    uint32_t len;
    std::memcpy(&len, head + 24, 4);
    if (len < (1u << 20)) {
      key.resize(len);
      if (pread(fd, key.data(), len, 28) != static_cast<ssize_t>(len)) key.clear();
    }
  }
  close(fd);
  return key;
}

// True if every source the key names still has the size, mtime and inode it had.
bool SourcesUnchanged(const std::string& key) {
  std::istringstream in(key);
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    if (line.rfind("source ", 0) != 0) continue;
    std::istringstream f(line.substr(7));
    uint64_t size, mtime, dev, ino;
    if (!(f >> size >> mtime >> dev >> ino)) return false;
    std::string path;
    std::getline(f >> std::ws, path);
    struct stat st;
    if (stat(path.c_str(), &st) != 0 || static_cast<uint64_t>(st.st_size) != size ||
        MtimeNs(st) != mtime || static_cast<uint64_t>(st.st_dev) != dev ||
        static_cast<uint64_t>(st.st_ino) != ino)
      return false;
    any = true;
  }
  return any;
}

// Eviction: see PackCacheWriter::Commit.
void Prune(const std::string& dir, const std::string& keep, uint64_t max_bytes) {
  struct Entry {
    fs::file_time_type mtime;
    uint64_t bytes;
    std::string path;
  };
  std::vector<Entry> entries;
  uint64_t total = 0;
  std::error_code ec;
  const auto now = fs::file_time_type::clock::now();
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    const std::string path = e.path().string(), name = e.path().filename().string();
    std::error_code ec2;
    const auto mtime = e.last_write_time(ec2);
    if (ec2) continue;
    if (name.size() > 4 && name.ends_with(".tmp") && name.find(".pack.") != std::string::npos) {
      // <hash>.pack.<pid>.<random>.tmp: its writer has exited, or it is a day old.
      const size_t at = name.find(".pack.") + 6;
      const long pid = std::strtol(name.c_str() + at, nullptr, 10);
      const bool gone = pid <= 0 || (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH);
      if (gone || now - mtime > std::chrono::hours(24)) fs::remove(e.path(), ec2);
      continue;
    }
    if (!name.ends_with(".pack") || path == keep) continue;
    if (!SourcesUnchanged(ReadKeyText(path))) {
      fs::remove(e.path(), ec2);
      continue;
    }
    const uint64_t bytes = e.file_size(ec2);
    if (ec2) continue;
    entries.push_back({mtime, bytes, path});
    total += bytes;
  }
  total += fs::file_size(keep, ec);
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.mtime < b.mtime; });
  for (const Entry& e : entries) {
    if (total <= max_bytes) break;
    std::error_code ec2;
    if (fs::remove(e.path, ec2)) total -= e.bytes;
  }
}

}  // namespace

std::vector<PackSlice> PackSlices(std::span<const PackedMatrixInfo> matrices) {
  std::vector<PackSlice> out;
  for (size_t i = 0; i < matrices.size(); ++i) {
    const PackedMatrixInfo& m = matrices[i];
    const int64_t groups = m.n_rows / 16;
    const auto per = static_cast<int64_t>(
        std::max<uint64_t>(1, kPackSliceBytes / std::max<uint64_t>(1, m.group_bytes)));
    for (int64_t g = 0; g < groups; g += per) {
      const int64_t n = std::min(per, groups - g);
      out.push_back({i, 16 * g, 16 * n, static_cast<uint64_t>(g) * m.group_bytes,
                     static_cast<uint64_t>(n) * m.group_bytes});
    }
  }
  return out;
}

Result<PackCacheKey> MakePackCacheKey(const std::string& dir,
                                      const std::vector<std::string>& sources,
                                      const std::string& tag) {
  PackCacheKey key;
  key.text = kKeyHead;
  std::string names;
  for (const std::string& s : sources) {
    std::error_code ec;
    const fs::path abs = fs::canonical(s, ec);
    if (ec) return IoError("cannot resolve " + s + ": " + ec.message());
    struct stat st;
    if (stat(abs.c_str(), &st) != 0) return IoError("cannot stat " + abs.string());
    key.text += SourceLine(abs.string(), st);
    names += abs.string() + '\n';
  }
  key.text += "tag " + tag + "\n";
  names += tag;
  key.file =
      (fs::path(dir) /
       (Hex16(Hash64(reinterpret_cast<const uint8_t*>(names.data()), names.size())) + ".pack"))
          .string();
  return key;
}

Result<PackCacheHit> LookupPackCache(const PackCacheKey& key,
                                     std::span<const PackedMatrixInfo> matrices) {
  struct stat st;
  if (stat(key.file.c_str(), &st) != 0) return NotFound("no cached packed weights");
  SEEKD_ASSIGN_OR_RETURN(MappedFile mf, MappedFile::Open(key.file));
  auto file = std::make_shared<MappedFile>(std::move(mf));
  const uint8_t* base = file->data();
  Reader r(base, file->size());
  uint64_t header_bytes = 0, file_bytes = 0;
  uint32_t key_len = 0, n_matrices = 0;
  std::string text;
  if (file->size() < sizeof kMagic || std::memcmp(base, kMagic, 8) != 0)
    return Corrupt("not a packed-weight cache file");
  if (!r.Str(8, &text) || !r.U64(&header_bytes) || !r.U64(&file_bytes) || !r.U32(&key_len) ||
      !r.Str(key_len, &text))
    return Corrupt("truncated header");
  if (file_bytes != file->size() || header_bytes > file_bytes)
    return Corrupt("size " + std::to_string(file->size()) + " instead of " +
                   std::to_string(file_bytes));
  if (text != key.text) return Corrupt("made for another file or layout");
  if (!r.U32(&n_matrices) || n_matrices != matrices.size())
    return Corrupt("holds another set of matrices");
  PackCacheHit hit;
  for (const PackedMatrixInfo& m : matrices) {
    uint32_t dtype, pad;
    uint64_t rows, cols, bytes, group, offset;
    if (!r.U32(&dtype) || !r.U32(&pad) || !r.U64(&rows) || !r.U64(&cols) || !r.U64(&bytes) ||
        !r.U64(&group) || !r.U64(&offset))
      return Corrupt("truncated header");
    if (dtype != static_cast<uint32_t>(m.dtype) || rows != static_cast<uint64_t>(m.n_rows) ||
        cols != static_cast<uint64_t>(m.n_cols) || bytes != m.bytes || group != m.group_bytes)
      return Corrupt("holds another matrix shape or type");
    if (offset % kPage != 0 || offset < header_bytes || offset > file_bytes ||
        bytes > file_bytes - offset)
      return Corrupt("matrix outside the file");
    hit.data.push_back(base + offset);
  }
  const uint64_t header_hash = Hash64(base, r.at());
  uint64_t stored = 0;
  if (!r.U64(&stored) || stored != header_hash || r.at() > header_bytes)
    return Corrupt("header checksum mismatch");
  Touch(key.file);
  hit.file = std::move(file);
  return hit;
}

Result<std::unique_ptr<PackCacheWriter>> PackCacheWriter::Create(
    const PackCacheKey& key, std::span<const PackedMatrixInfo> matrices) {
  std::unique_ptr<PackCacheWriter> w(new PackCacheWriter);
  w->key_ = key;
  w->matrices_.assign(matrices.begin(), matrices.end());
  const Layout l = PlanLayout(key.text.size(), matrices);
  w->matrix_offset_ = l.offsets;
  const std::string dir = fs::path(key.file).parent_path().string();
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError("cannot create " + dir + ": " + ec.message());
  struct statvfs vfs;
  if (statvfs(dir.c_str(), &vfs) != 0) return IoError("cannot stat " + dir);
  const uint64_t avail = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (avail < l.file_bytes + kMinFree)
    return OutOfRange(std::to_string(avail >> 20) + " MiB free in " + dir + ", " +
                      std::to_string((l.file_bytes + kMinFree) >> 20) + " MiB needed");
  std::random_device rd;
  w->tmp_ = key.file + "." + std::to_string(getpid()) + "." + Hex16(rd()).substr(8) + ".tmp";
  w->fd_ = open(w->tmp_.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (w->fd_ < 0) return IoError("cannot create " + w->tmp_ + ": " + std::strerror(errno));
  // Reserve the blocks now, so that running out of disk shows here and not mid-write.
  if (fallocate(w->fd_, 0, 0, static_cast<off_t>(l.file_bytes)) != 0) {
    const int e = errno;
    if (e != EOPNOTSUPP && e != ENOSYS && e != EINVAL)
      return IoError("cannot reserve " + std::to_string(l.file_bytes >> 20) + " MiB in " + dir +
                     ": " + std::strerror(e));
    if (ftruncate(w->fd_, static_cast<off_t>(l.file_bytes)) != 0)
      return IoError("cannot size " + w->tmp_ + ": " + std::strerror(errno));
  }
  return w;
}

PackCacheWriter::~PackCacheWriter() {
  if (fd_ >= 0) close(fd_);
  if (!tmp_.empty()) unlink(tmp_.c_str());
}

Status PackCacheWriter::Write(size_t matrix, const uint8_t* bytes) {
  const uint64_t size = matrices_[matrix].bytes, at = matrix_offset_[matrix];
  uint64_t done = 0;
  while (done < size) {
    const uint64_t step = std::min<uint64_t>(size - done, uint64_t{1} << 30);
    const ssize_t n = pwrite(fd_, bytes + done, step, static_cast<off_t>(at + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError("cannot write " + tmp_ + ": " + std::strerror(errno));
    done += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status PackCacheWriter::Commit(uint64_t max_bytes) {
  const Layout l = PlanLayout(key_.text.size(), matrices_);
  std::string h;
  Put(&h, kMagic, 8);
  PutU64(&h, l.header_bytes);
  PutU64(&h, l.file_bytes);
  PutU32(&h, static_cast<uint32_t>(key_.text.size()));
  h += key_.text;
  PutU32(&h, static_cast<uint32_t>(matrices_.size()));
  for (size_t i = 0; i < matrices_.size(); ++i) {
    const PackedMatrixInfo& m = matrices_[i];
    PutU32(&h, static_cast<uint32_t>(m.dtype));
    PutU32(&h, 0);
    PutU64(&h, static_cast<uint64_t>(m.n_rows));
    PutU64(&h, static_cast<uint64_t>(m.n_cols));
    PutU64(&h, m.bytes);
    PutU64(&h, m.group_bytes);
    PutU64(&h, matrix_offset_[i]);
  }
  PutU64(&h, Hash64(reinterpret_cast<const uint8_t*>(h.data()), h.size()));
  if (pwrite(fd_, h.data(), h.size(), 0) != static_cast<ssize_t>(h.size()))
    return IoError("cannot write " + tmp_ + ": " + std::strerror(errno));
  // The data reaches the disk before the name does, so a crash never leaves a complete-looking
  // file with missing pages.
  if (fdatasync(fd_) != 0) return IoError("cannot sync " + tmp_ + ": " + std::strerror(errno));
  if (rename(tmp_.c_str(), key_.file.c_str()) != 0)
    return IoError("cannot rename " + tmp_ + ": " + std::strerror(errno));
  tmp_.clear();
  close(fd_);
  fd_ = -1;
  Touch(key_.file);
  Prune(fs::path(key_.file).parent_path().string(), key_.file, max_bytes);
  return Status::Ok();
}

std::string DefaultPackCacheDir() {
  if (const char* d = std::getenv("SEEKD_CACHE_DIR"); d != nullptr && *d != '\0')
    return (fs::path(d) / "packed").string();
  if (const char* d = std::getenv("XDG_CACHE_HOME"); d != nullptr && *d != '\0')
    return (fs::path(d) / "seekd" / "packed").string();
  if (const char* d = std::getenv("HOME"); d != nullptr && *d != '\0')
    return (fs::path(d) / ".cache" / "seekd" / "packed").string();
  return {};
}

std::string ResolvePackCacheDir(const std::string& flag) {
  if (flag == "off") return {};
  if (flag.empty()) return DefaultPackCacheDir();
  return flag;
}

}  // namespace seekd::model
