// Percentiles for the benchmark commands: linear interpolation between closest ranks (numpy's
// default), so figures compare with other tools' reports.
#pragma once

#include <algorithm>
#include <vector>

namespace seekd::cli {

// p in [0, 100]; 0 for an empty sample.
inline double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (idx - static_cast<double>(lo));
}

}  // namespace seekd::cli
