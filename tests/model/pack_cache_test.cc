// The packed-weight disk cache (model/pack_cache.h) end to end through LoadLlm: a second load
// maps what the first stored, and a forward pass over it gives the same bits as repacking; a
// stale, truncated or foreign cache file is replaced, never used; an unusable folder leaves
// the model working from memory; eviction drops entries whose model is gone and keeps the
// folder under its byte cap.
#include "model/pack_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/thread_pool.h"
#include "model/forward.h"
#include "model/gguf.h"
#include "model/llm.h"
#include "model/tiny_model.h"

namespace seekd::model {
namespace {

namespace fs = std::filesystem;

class PackCache : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("seekd_pack_cache_" + std::to_string(::getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    dir_ = (root_ / "cache").string();
  }
  void TearDown() override { fs::remove_all(root_); }

  std::string WriteModel(const std::string& name, uint32_t seed, const std::string& weights) {
    TinyModelSpec s;
    s.arch = "qwen2";
    s.weights = weights;
    s.n_vocab = 512;
    s.n_embd = 256;
    s.n_ff = 512;
    s.n_layer = 2;
    s.n_ctx = 128;
    s.init_std = 0.08;
    s.seed = seed;
    GgufWriter w;
    EXPECT_TRUE(WriteTinyModel(s, &w).ok());
    const std::string path = (root_ / name).string();
    EXPECT_TRUE(w.Write(path).ok());
    return path;
  }

  std::unique_ptr<Llm> Load(const std::string& path, const std::string& dir,
                            uint64_t max_bytes = uint64_t{64} << 30) {
    LoadOptions o;
    o.pack_cache_dir = dir;
    o.pack_cache_max_bytes = max_bytes;
    auto llm = LoadLlm(path, o);
    EXPECT_TRUE(llm.ok()) << llm.status().ToString();
    if (!llm.ok()) return nullptr;
    (*llm)->FinishPackCache();
    return std::move(*llm);
  }

  // Logits of a short prompt, every position.
  static std::vector<float> Logits(const Llm& llm) {
    ThreadPool pool(2);
    Forward fwd(llm, pool);
    ContiguousKv kv(llm.config(), 32);
    KvStore* seqs[] = {&kv};
    std::vector<BatchToken> batch;
    const int32_t prompt[] = {1, 17, 300, 42, 7, 511, 0, 99};
    for (int i = 0; i < 8; ++i) batch.push_back({prompt[i], i, 0, true});
    std::vector<float> logits;
    EXPECT_TRUE(fwd.Run(batch, seqs, &logits).ok());
    return logits;
  }

  std::vector<fs::path> CacheFiles() const {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_, ec)) out.push_back(e.path());
    return out;
  }

  fs::path root_;
  std::string dir_;
  // Whether the active table packs type t (AVX-512 and AVX2: the int8 types; scalar: none).
  static bool Packs(DType t) {
    return kernels::Active().packed[static_cast<int>(t)].pack != nullptr;
  }
};

TEST_F(PackCache, SecondLoadMapsTheStoredCopyAndComputesTheSameBits) {
  const std::string path = WriteModel("m.gguf", 1, "q4_k_m");
  const auto plain = Load(path, "");
  ASSERT_NE(plain, nullptr);
  EXPECT_EQ(plain->pack_cache().state, "off");
  const std::vector<float> want = Logits(*plain);

  const auto first = Load(path, dir_);
  ASSERT_NE(first, nullptr);
  if (!Packs(DType::kQ4_K)) {  // this ISA has no packed GEMM: nothing to cache
    EXPECT_EQ(first->pack_cache().state, "off");
    EXPECT_TRUE(CacheFiles().empty());
    return;
  }
  const PackCacheStatus st1 = first->pack_cache();
  EXPECT_EQ(st1.state, "written") << st1.reason;
  EXPECT_EQ(Logits(*first), want);
  ASSERT_EQ(CacheFiles().size(), 1u);
  EXPECT_EQ(CacheFiles()[0].string(), st1.file);
  EXPECT_EQ(fs::file_size(st1.file) % 4096, 0u);
  EXPECT_GE(fs::file_size(st1.file), first->packed_bytes());

  const auto second = Load(path, dir_);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->pack_cache().state, "hit");
  EXPECT_EQ(second->pack_cache().file, st1.file);
  EXPECT_EQ(second->packed_bytes(), first->packed_bytes());
  // The packed views point into the cache file's mapping, not at fresh memory.
  EXPECT_NE(second->weights().layers[0].w_up.packed, nullptr);
  EXPECT_EQ(Logits(*second), want);
}

// --quant on a cache hit: the converted matrices come packed from the file, so the load neither
// quantizes them again nor holds a converted copy; the bits are those of converting.
TEST_F(PackCache, AHitSkipsTheLoadTimeQuantization) {
  if (!Packs(DType::kQ8_0)) GTEST_SKIP() << "no packed GEMM on this ISA";
  const std::string path = WriteModel("f16.gguf", 3, "f16");
  auto load = [&](const std::string& dir) {
    LoadOptions o;
    o.pack_cache_dir = dir;
    o.quant = DType::kQ8_0;
    auto llm = LoadLlm(path, o);
    EXPECT_TRUE(llm.ok()) << llm.status().ToString();
    if (llm.ok()) (*llm)->FinishPackCache();
    return llm.ok() ? std::move(*llm) : nullptr;
  };
  const auto plain = load("");
  ASSERT_NE(plain, nullptr);
  const std::vector<float> want = Logits(*plain);
  const uint64_t matrix_bytes = plain->weights().layers[0].w_up.row_bytes * 512;
  EXPECT_GT(plain->converted_bytes(), 10 * matrix_bytes);
  EXPECT_EQ(plain->weights().layers[0].w_up.dtype, DType::kQ8_0);

  const auto first = load(dir_);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->pack_cache().state, "written") << first->pack_cache().reason;
  EXPECT_EQ(first->converted_bytes(), plain->converted_bytes());
  EXPECT_EQ(Logits(*first), want);

  const auto second = load(dir_);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(second->pack_cache().state, "hit");
  const MatrixView& up = second->weights().layers[0].w_up;
  EXPECT_EQ(up.dtype, DType::kQ8_0);
  EXPECT_NE(up.packed, nullptr);
  EXPECT_EQ(up.data, nullptr);  // never converted
  // Only the small 1-D tensors (f32 copies) remain converted.
  EXPECT_LT(second->converted_bytes(), matrix_bytes);
  EXPECT_EQ(Logits(*second), want);
  // Another target is another key: no hit on the Q8_0 copy.
  LoadOptions o;
  o.pack_cache_dir = dir_;
  o.quant = DType::kQ4_K;
  auto q4 = LoadLlm(path, o);
  ASSERT_TRUE(q4.ok()) << q4.status().ToString();
  (*q4)->FinishPackCache();
  EXPECT_EQ((*q4)->pack_cache().state, "written");
  EXPECT_GT((*q4)->converted_bytes(), 10 * matrix_bytes / 2);
}

TEST_F(PackCache, AReplacedModelIsRepackedNotServedFromTheOldCopy) {
  if (!Packs(DType::kQ4_K)) GTEST_SKIP() << "no packed GEMM on this ISA";
  const std::string path = WriteModel("m.gguf", 1, "q4_k_m");
  ASSERT_EQ(Load(path, dir_)->pack_cache().state, "written");
  // Same path, same size, other weights (a re-download, a re-quantization).
  fs::remove(path);
  WriteModel("m.gguf", 2, "q4_k_m");
  const std::vector<float> want = Logits(*Load(path, ""));
  const auto again = Load(path, dir_);
  EXPECT_EQ(again->pack_cache().state, "written");
  EXPECT_NE(again->pack_cache().reason.find("made for another file"), std::string::npos)
      << again->pack_cache().reason;
  EXPECT_EQ(Logits(*again), want);
  EXPECT_EQ(Load(path, dir_)->pack_cache().state, "hit");
  EXPECT_EQ(CacheFiles().size(), 1u);
}

TEST_F(PackCache, TruncatedOrGarbledFilesAreReplaced) {
  if (!Packs(DType::kQ8_0)) GTEST_SKIP() << "no packed GEMM on this ISA";
  const std::string path = WriteModel("m.gguf", 1, "q8_0");
  const std::vector<float> want = Logits(*Load(path, ""));
  const std::string file = Load(path, dir_)->pack_cache().file;
  ASSERT_FALSE(file.empty());
  const uint64_t size = fs::file_size(file);

  fs::resize_file(file, size / 2);
  auto a = Load(path, dir_);
  EXPECT_EQ(a->pack_cache().state, "written");
  EXPECT_NE(a->pack_cache().reason.find("instead of"), std::string::npos) << a->pack_cache().reason;
  EXPECT_EQ(Logits(*a), want);
  EXPECT_EQ(fs::file_size(file), size);

  for (const uint64_t at : {uint64_t{0}, uint64_t{40}, uint64_t{200}}) {  // magic, key, matrices
    {
      std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
      f.seekp(static_cast<std::streamoff>(at));
      f.put('\x5a');
    }
    auto b = Load(path, dir_);
    EXPECT_EQ(b->pack_cache().state, "written") << "byte " << at;
    EXPECT_FALSE(b->pack_cache().reason.empty()) << "byte " << at;
    EXPECT_EQ(Logits(*b), want) << "byte " << at;
    EXPECT_EQ(Load(path, dir_)->pack_cache().state, "hit") << "byte " << at;
  }
  // Not a cache file at all.
  { std::ofstream(file, std::ios::trunc) << "hello"; }
  auto c = Load(path, dir_);
  EXPECT_EQ(c->pack_cache().state, "written");
  EXPECT_EQ(Logits(*c), want);
}

TEST_F(PackCache, AnUnusableFolderLeavesTheModelPackedInMemory) {
  if (!Packs(DType::kQ4_0)) GTEST_SKIP() << "no packed GEMM on this ISA";
  const std::string path = WriteModel("m.gguf", 1, "q4_0");
  const std::vector<float> want = Logits(*Load(path, ""));
  const std::string not_a_dir = (root_ / "plain-file").string();
  { std::ofstream(not_a_dir) << "x"; }
  auto llm = Load(path, not_a_dir + "/cache");
  EXPECT_EQ(llm->pack_cache().state, "unavailable");
  EXPECT_FALSE(llm->pack_cache().reason.empty());
  EXPECT_GT(llm->packed_bytes(), 0u);
  EXPECT_EQ(Logits(*llm), want);
}

TEST_F(PackCache, EvictionDropsEntriesOfGoneModelsAndTheOldestBeyondTheCap) {
  if (!Packs(DType::kQ8_0)) GTEST_SKIP() << "no packed GEMM on this ISA";
  const std::string a = WriteModel("a.gguf", 1, "q8_0"), b = WriteModel("b.gguf", 2, "q8_0"),
                    c = WriteModel("c.gguf", 3, "q8_0");
  const std::string fa = Load(a, dir_)->pack_cache().file;
  const std::string fb = Load(b, dir_)->pack_cache().file;
  ASSERT_TRUE(fs::exists(fa));
  ASSERT_TRUE(fs::exists(fb));
  // A writer that died mid-write left its temporary file behind (no such process).
  const std::string stale = fa + ".2147483646.0000abcd.tmp";
  { std::ofstream(stale) << "partial"; }
  // a's model goes away: its entry goes with the next store.
  fs::remove(a);
  const std::string fc = Load(c, dir_)->pack_cache().file;
  EXPECT_FALSE(fs::exists(fa));
  EXPECT_FALSE(fs::exists(stale));
  EXPECT_TRUE(fs::exists(fb));
  EXPECT_TRUE(fs::exists(fc));
  // A cap below two entries keeps only the newest (b is the least recently used).
  const std::string d = WriteModel("d.gguf", 4, "q8_0");
  const uint64_t one = fs::file_size(fc);
  const std::string fd = Load(d, dir_, one + one / 2)->pack_cache().file;
  EXPECT_FALSE(fs::exists(fb));
  EXPECT_FALSE(fs::exists(fc));
  EXPECT_TRUE(fs::exists(fd));
  // A hit refreshes an entry: after using c again… (c was evicted; store it, then hit d.)
  const std::string fc2 = Load(c, dir_)->pack_cache().file;
  EXPECT_EQ(Load(d, dir_)->pack_cache().state, "hit");
  const std::string e = WriteModel("e.gguf", 5, "q8_0");
  Load(e, dir_, 2 * one + one / 2);  // room for two: d (just used) stays, c goes
  EXPECT_TRUE(fs::exists(fd));
  EXPECT_FALSE(fs::exists(fc2));
}

TEST(PackCacheDir, FlagsAndEnvironment) {
  EXPECT_EQ(ResolvePackCacheDir("off"), "");
  EXPECT_EQ(ResolvePackCacheDir("/x/y"), "/x/y");
  const char* old = std::getenv("SEEKD_CACHE_DIR");
  const std::string saved = old ? old : "";
  setenv("SEEKD_CACHE_DIR", "/var/cache/seekd", 1);
  EXPECT_EQ(ResolvePackCacheDir(""), "/var/cache/seekd/packed");
  if (old) {
    setenv("SEEKD_CACHE_DIR", saved.c_str(), 1);
  } else {
    unsetenv("SEEKD_CACHE_DIR");
  }
}

}  // namespace
}  // namespace seekd::model
