// Encoding speed of the tokenizer on a text file (docs/BENCHMARKS.md has the command).
// Usage: tokenizer_bench TOKENIZER_PATH TEXT_FILE [REPS]
// Prints the median over REPS fresh tokenizers (cold piece cache each time) and one warm run.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/mapped_file.h"
#include "tokenizer/tokenizer.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s TOKENIZER_PATH TEXT_FILE [REPS]\n", argv[0]);
    return 2;
  }
  const int reps = argc > 3 ? std::atoi(argv[3]) : 5;
  auto spec = seekd::tok::LoadHfTokenizer(argv[1]);
  auto text = seekd::ReadFileToString(argv[2]);
  if (!spec.ok() || !text.ok()) {
    std::fprintf(stderr, "cannot load: %s %s\n", spec.status().ToString().c_str(),
                 text.status().ToString().c_str());
    return 1;
  }
  seekd::tok::EncodeOptions o;
  o.add_bos = 0;
  std::vector<double> secs;
  size_t n_tokens = 0;
  for (int r = 0; r < reps; ++r) {
    auto tok = seekd::tok::Tokenizer::Create(*spec);
    const auto t0 = std::chrono::steady_clock::now();
    n_tokens = tok->Encode(*text, o).size();
    secs.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(secs.begin(), secs.end());
  const double med = secs[secs.size() / 2];
  std::printf(
      "{\"bytes\": %zu, \"tokens\": %zu, \"cold_median_s\": %.4f, \"cold_min_s\": %.4f, "
      "\"cold_max_s\": %.4f, "
      "\"tokens_per_s\": %.0f, \"mb_per_s\": %.2f}\n",
      text->size(), n_tokens, med, secs.front(), secs.back(), n_tokens / med,
      text->size() / med / 1e6);
  return 0;
}
