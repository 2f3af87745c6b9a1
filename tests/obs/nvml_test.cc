// Accelerator figures through NVML: with the stand-in driver library on LD_LIBRARY_PATH
// (fake_nvml.c) both devices are read with the right fields; without any driver the list is
// empty and nothing fails. SEEKD_EXPECT_DEVICES says which case this run is.
#include <gtest/gtest.h>

#include <cstdlib>

#include "obs/metrics.h"

namespace seekd::obs {
namespace {

TEST(Nvml, ReadsWhatTheDriverReports) {
  const char* expect = std::getenv("SEEKD_EXPECT_DEVICES");
  ASSERT_NE(expect, nullptr) << "run through ctest";
  const auto acc = ReadAccelerators();
  if (std::string(expect) == "0") {
    EXPECT_TRUE(acc.empty());
    return;
  }
  ASSERT_EQ(acc.size(), 2u);
  EXPECT_EQ(acc[0].index, "0");
  EXPECT_DOUBLE_EQ(acc[0].utilization_ratio, 0.42);
  EXPECT_DOUBLE_EQ(acc[0].memory_used_bytes, 1e9);
  EXPECT_DOUBLE_EQ(acc[0].memory_total_bytes, 1.5e11);
  EXPECT_EQ(acc[1].index, "1");
  EXPECT_DOUBLE_EQ(acc[1].utilization_ratio, 0.95);
  EXPECT_DOUBLE_EQ(acc[1].memory_used_bytes, 1.4e11);
}

}  // namespace
}  // namespace seekd::obs
