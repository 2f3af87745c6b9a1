// Weight-streaming speed of each dot kernel, per ISA: one thread walks a matrix of `bytes`
// (L2-sized, L3-sized or DRAM-sized) row by row, as decode does. Reports bytes/s, to set
// against MeasureReadBandwidth (`seekd bench-model` prints it).
//
//   build/bench/kernels/kernels_bench --benchmark_filter='q4_K'
#include <benchmark/benchmark.h>

#include <random>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/machine_probe.h"
#include "core/quant.h"

namespace seekd {
namespace {

void BM_Dot(benchmark::State& state, DType t, kernels::Isa isa, int64_t bytes) {
  const auto& k = kernels::KernelsFor(isa);
  const int64_t n_cols = 1536;
  const uint64_t row = RowBytes(t, n_cols).value();
  const int64_t n_rows = bytes / static_cast<int64_t>(row);
  std::vector<float> src(static_cast<size_t>(n_cols));
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0, 1);
  for (auto& v : src) v = dist(rng);
  std::vector<uint8_t> w(row * n_rows);
  for (int64_t r = 0; r < n_rows; ++r) (void)Quantize(t, src.data(), w.data() + r * row, n_cols);
  std::vector<uint8_t> act(static_cast<size_t>(kernels::ActRowBytes(t, n_cols)));
  kernels::QuantizeActivations(k, t, src.data(), n_cols, act.data());
  const kernels::VecDotFn dot = k.vec_dot[static_cast<int>(t)];
  float sink = 0;
  for (auto _ : state) {
    for (int64_t r = 0; r < n_rows; ++r) {
      if (state.range(0) > 0 && r + state.range(0) < n_rows) {
        const char* p = reinterpret_cast<const char*>(w.data() + (r + state.range(0)) * row);
        for (uint64_t o = 0; o < row; o += 64) __builtin_prefetch(p + o);
      }
      sink += dot(n_cols, w.data() + r * row, act.data());
    }
  }
  benchmark::DoNotOptimize(sink);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n_rows *
                          static_cast<int64_t>(row));
}

void BM_ReadBandwidth(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  double bw = 0;
  for (auto _ : state) bw = MeasureReadBandwidth(pool, 512ull << 20, 1);
  state.counters["GB/s"] = bw / 1e9;
}

int Register() {
  for (kernels::Isa isa : kernels::AvailableIsas()) {
    for (DType t :
         {DType::kQ4_K, DType::kQ6_K, DType::kQ8_0, DType::kQ4_0, DType::kF16, DType::kBF16}) {
      for (int64_t mb : {1, 64, 512}) {
        const std::string name = std::string(DTypeName(t)) + "/" +
                                 std::string(kernels::IsaName(isa)) + "/" + std::to_string(mb) +
                                 "MB";
        benchmark::RegisterBenchmark(name.c_str(), BM_Dot, t, isa, mb << 20)
            ->Unit(benchmark::kMillisecond)
            ->ArgName("prefetch_rows")
            ->Arg(0)
            ->Arg(1)
            ->Arg(2)
            ->Arg(4);
      }
    }
  }
  benchmark::RegisterBenchmark("read_bandwidth", BM_ReadBandwidth)->Arg(1)->Arg(2)->Iterations(3);
  return 0;
}
const int registered = Register();

}  // namespace
}  // namespace seekd

BENCHMARK_MAIN();
