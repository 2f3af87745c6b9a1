// A disk cache of the weights the loader repacks for the packed GEMM (core/kernels/packed.h),
// so that a model's second load is a memory map again instead of a repack.
//
// One file per model: DIR/<16 hex digits>.pack, named by a hash of the model's source paths,
// the load-time quantization and the packed layouts (PackedGemm::layout). The file holds a
// header — the full key (each source's path, size, mtime, inode), the packed matrices' types,
// shapes and offsets, and the header's own 64-bit hash — and then the packed bytes, each
// matrix at a page boundary. A lookup maps it read-only and accepts it only if its size, the
// header hash, the key and every matrix match, so a stale or truncated file (the model was
// replaced, another build's layout) is never used: the loader repacks and replaces it.
// Writers fill a temporary file in the same folder, sync it, and only then rename it into
// place, so a crash never leaves a complete-looking file and concurrent loads of one model are
// safe. (Like the model file itself, the packed bytes carry no checksum of their own.)
//
// Thread-safety: none; one thread per object.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/dtype.h"
#include "core/mapped_file.h"
#include "core/status.h"

namespace seekd::model {

// One packed matrix in load order, with the layout its bytes follow.
struct PackedMatrixInfo {
  DType dtype = DType::kF32;
  int64_t n_rows = 0, n_cols = 0;
  uint64_t bytes = 0;        // of the whole packed copy
  uint64_t group_bytes = 0;  // of one group of 16 rows (bytes is n_rows / 16 of them)
};

// Slices: the unit of the loader's parallel packing. Each is a run of whole
// row groups of one matrix, about kPackSliceBytes long (one group if a group is longer).
inline constexpr uint64_t kPackSliceBytes = uint64_t{1} << 20;
struct PackSlice {
  size_t matrix = 0;
  int64_t row0 = 0, n_rows = 0;    // rows [row0, row0 + n_rows)
  uint64_t offset = 0, bytes = 0;  // within the matrix's packed copy
};
std::vector<PackSlice> PackSlices(std::span<const PackedMatrixInfo> matrices);

struct PackCacheKey {
  std::string text;  // compared exactly: sources with their stat identity, quant, layouts
  std::string file;  // DIR/<hash>.pack
};
// `sources`: the model's files; `tag`: what else shapes the packed bytes (load-time quant type,
// each dtype's PackedGemm::layout). Fails if a source cannot be stat'ed.
Result<PackCacheKey> MakePackCacheKey(const std::string& dir,
                                      const std::vector<std::string>& sources,
                                      const std::string& tag);

// A verified cache file: the mapping and where each matrix's packed copy starts in it.
struct PackCacheHit {
  std::shared_ptr<MappedFile> file;
  std::vector<const uint8_t*> data;  // one per matrix, 64-byte aligned
};

// Maps key.file and checks it against the key and `matrices`. NotFound if there is no file;
// Corrupt naming the mismatch otherwise. A hit refreshes the file's modification time (the
// eviction order).
Result<PackCacheHit> LookupPackCache(const PackCacheKey& key,
                                     std::span<const PackedMatrixInfo> matrices);

// Builds a cache file: Write() every matrix, then Commit(). Destroying an uncommitted writer
// removes its temporary file.
class PackCacheWriter {
 public:
  // Creates DIR (and parents) if needed and a temporary file with room reserved for the data.
  // Fails (and the caller packs to memory instead) if the folder is unwritable or the disk
  // lacks room for the file plus 1 GiB.
  static Result<std::unique_ptr<PackCacheWriter>> Create(
      const PackCacheKey& key, std::span<const PackedMatrixInfo> matrices);
  ~PackCacheWriter();
  PackCacheWriter(const PackCacheWriter&) = delete;
  PackCacheWriter& operator=(const PackCacheWriter&) = delete;

  // Stores matrix i's packed copy (matrices[i].bytes bytes).
  [[nodiscard]] Status Write(size_t matrix, const uint8_t* bytes);
  // Writes the header, renames the file into place, then evicts: entries whose sources are
  // gone or changed, stale temporaries, and the least recently used beyond `max_bytes` (never
  // the new one).
  [[nodiscard]] Status Commit(uint64_t max_bytes);

 private:
  PackCacheWriter() = default;
  PackCacheKey key_;
  std::vector<PackedMatrixInfo> matrices_;
  std::vector<uint64_t> matrix_offset_;  // file offset of each matrix
  std::string tmp_;
  int fd_ = -1;
};

// $SEEKD_CACHE_DIR/packed, else $XDG_CACHE_HOME/seekd/packed, else $HOME/.cache/seekd/packed;
// empty if none is set.
std::string DefaultPackCacheDir();
// The folder a --pack-cache flag names: "off" → "" (no cache), "" → DefaultPackCacheDir().
std::string ResolvePackCacheDir(const std::string& flag);

}  // namespace seekd::model
