// The aggregate decode rate of streams that decode side by side, for bench-engine: measured over
// the window in which every stream is decoding, so that neither prefill (of the stream itself or
// of the others, which chunked prefill interleaves with running streams) nor the tail after the
// first stream finishes counts.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <vector>

namespace seekd::cli {

struct SteadyDecode {
  double tokens_per_s = 0;  // 0 when the window is empty
  double window_s = 0;
  int64_t tokens = 0;  // tokens all streams emitted inside the window
};

// token_times[k]: the times (seconds, one clock, ascending) at which stream k emitted each of its
// tokens. The window runs from the last stream's first token to the first stream's last token,
// (w0, w1]: each engine step in it emits one token per stream at about the same time, so for n
// streams over m steps it counts n·m tokens in m step durations. For one stream this is
// (count − 1) / (last − first), the reciprocal of its time per output token. Streams with fewer
// than two tokens give an empty window.
inline SteadyDecode SteadyDecodeRate(const std::vector<std::vector<double>>& token_times) {
  SteadyDecode r;
  if (token_times.empty()) return r;
  double w0 = -std::numeric_limits<double>::infinity();
  double w1 = std::numeric_limits<double>::infinity();
  for (const auto& t : token_times) {
    if (t.size() < 2) return r;
    w0 = std::max(w0, t.front());
    w1 = std::min(w1, t.back());
  }
  if (w1 <= w0) return r;
  for (const auto& t : token_times)
    r.tokens += std::upper_bound(t.begin(), t.end(), w1) - std::upper_bound(t.begin(), t.end(), w0);
  r.window_s = w1 - w0;
  r.tokens_per_s = static_cast<double>(r.tokens) / r.window_s;
  return r;
}

}  // namespace seekd::cli
