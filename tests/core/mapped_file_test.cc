#include "core/mapped_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace seekd {
namespace {

std::string TempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("seekd_core_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

TEST(MappedFileTest, MapsTheFileBytes) {
  std::string path = TempPath("bytes");
  {
    std::ofstream out(path, std::ios::binary);
    out << "GGUF\x03rest";
  }
  auto f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok()) << f.status().ToString();
  ASSERT_EQ(f->size(), 9u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(f->data()), 4), "GGUF");
  EXPECT_EQ(f->bytes()[4], 3);
  MappedFile moved = std::move(f).value();
  EXPECT_EQ(moved.size(), 9u);
  EXPECT_EQ(moved.path(), path);
  std::remove(path.c_str());
}

TEST(MappedFileTest, EmptyFileMapsToEmptySpan) {
  std::string path = TempPath("empty");
  { std::ofstream out(path, std::ios::binary); }
  auto f = MappedFile::Open(path);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->size(), 0u);
  EXPECT_TRUE(f->bytes().empty());
  std::remove(path.c_str());
}

TEST(MappedFileTest, MissingFileAndDirectoryAreClearErrors) {
  auto missing = MappedFile::Open("/nonexistent/seekd/model.gguf");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kIoError);
  EXPECT_NE(missing.status().message().find("/nonexistent/seekd/model.gguf"), std::string::npos);
  auto dir = MappedFile::Open(std::filesystem::temp_directory_path().string());
  ASSERT_FALSE(dir.ok());
  EXPECT_EQ(dir.status().code(), StatusCode::kInvalidArgument);
}

TEST(MappedFileTest, ReadFileToStringHonoursTheLimit) {
  std::string path = TempPath("text");
  {
    std::ofstream out(path, std::ios::binary);
    out << std::string(100, 'x');
  }
  auto all = ReadFileToString(path);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 100u);
  auto limited = ReadFileToString(path, 10);
  ASSERT_FALSE(limited.ok());
  EXPECT_EQ(limited.status().code(), StatusCode::kOutOfRange);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace seekd
