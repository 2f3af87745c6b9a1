// Weight-streaming speed of each dot kernel, per ISA: one thread walks a matrix of `bytes`
// (L2-sized, L3-sized or DRAM-sized) row by row, as decode does. Reports bytes/s, to set
// against MeasureReadBandwidth (`seekd bench-model` prints it). And the packed int8 GEMM on
// one thread at the 1.5B model's shapes, 512 tokens, as multiply-adds per second and a share
// of the vpdpbusd peak measured in the same process.
//
//   build/bench/kernels/kernels_bench --benchmark_filter='q4_K'
//   build/bench/kernels/kernels_bench --benchmark_filter='gemm'
//   build/bench/kernels/kernels_bench --benchmark_filter='gemv'
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <vector>

#include "core/kernels/kernels.h"
#include "core/kernels/packed.h"
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

// One thread's int8 dot peak (multiply-adds per second) of the best table: vpdpbusd, or
// AVX2's vpmaddubsw chains; measured once.
double Int8Peak() {
  static const double peak = [] {
    const auto& k = kernels::KernelsFor(kernels::AvailableIsas().back());
    double best = 0;
    for (int r = 0; r < 5; ++r) {
      const auto t0 = std::chrono::steady_clock::now();
      const uint64_t macs = k.spin_int8(20'000'000);
      const double dt =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      best = std::max(best, static_cast<double>(macs) / dt);
    }
    return best;
  }();
  return peak;
}

void BM_PackedGemm(benchmark::State& state, DType t, kernels::PackedGemm pg, int64_t n_rows,
                   int64_t n_cols) {
  const int64_t n_tok = 512;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> w(static_cast<size_t>(n_rows * n_cols)),
      x(static_cast<size_t>(n_tok * n_cols));
  for (auto& v : w) v = dist(rng);
  for (auto& v : x) v = dist(rng);
  std::vector<uint8_t> wq(RowBytes(t, n_cols).value() * n_rows);
  (void)Quantize(t, w.data(), wq.data(), n_rows * n_cols);
  auto aligned = [](uint64_t n) {
    return std::unique_ptr<uint8_t, void (*)(void*)>(
        static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64)), std::free);
  };
  auto packed = aligned(pg.bytes(n_rows, n_cols));
  pg.pack(wq.data(), n_rows, n_cols, packed.get());
  const auto& k = kernels::Active();  // the standard activation rows, any table
  const bool q8k = pg.act == kernels::ActFormat::kQ8K;
  const int64_t act_row = kernels::ActRowBytes(t, n_cols);
  std::vector<uint8_t> act(static_cast<size_t>(act_row * n_tok));
  for (int64_t i = 0; i < n_tok; ++i) {
    if (pg.act == kernels::ActFormat::kF32 || pg.act == kernels::ActFormat::kBF16) {
      // f32 rows (kBF16: pack_panel rounds them)
      std::memcpy(act.data() + i * act_row, x.data() + i * n_cols, static_cast<size_t>(act_row));
    } else if (q8k) {
      k.quantize_q8k(x.data() + i * n_cols,
                     reinterpret_cast<kernels::BlockQ8K*>(act.data() + i * act_row), n_cols);
    } else {
      k.quantize_q8a(x.data() + i * n_cols,
                     reinterpret_cast<kernels::BlockQ8A*>(act.data() + i * act_row), n_cols);
    }
  }
  auto panel = aligned(pg.panel_bytes != nullptr ? pg.panel_bytes(n_tok, n_cols) : act.size());
  if (pg.pack_panel != nullptr)
    pg.pack_panel(act.data(), n_tok, n_cols, 0, (n_tok + 15) / 16, panel.get());
  else
    std::memcpy(panel.get(), act.data(), act.size());  // f32 rows: the gemm reads them as they are
  std::vector<float> y(static_cast<size_t>(n_tok * n_rows));
  for (auto _ : state)
    pg.gemm(packed.get(), n_rows, n_cols, panel.get(), n_tok, y.data(), 0, n_rows / 16);
  benchmark::DoNotOptimize(y.data());
  const double macs = static_cast<double>(n_rows * n_cols * n_tok);
  state.counters["GMAC/s"] =
      benchmark::Counter(macs * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["int8_peak_GMAC/s"] = Int8Peak() * 1e-9;
}

// Decode over a packed copy: one thread, n_tok tokens (gemv, or gemv_multi for a decode
// batch; with `gemm`, the prefill GEMM, panel packing included, to find where it overtakes
// gemv_multi), a [n_rows × 1536] matrix of `bytes` (in cache or DRAM-sized), as bytes of the
// stored format per second. n_cols 8960 is the 1.5B model's ffn_down, whose activations
// (10 tokens × 8960 columns) no longer fit L1.
void BM_PackedGemv(benchmark::State& state, DType t, kernels::PackedGemm pg, int64_t bytes,
                   int64_t n_tok, bool gemm, int64_t n_cols) {
  const uint64_t row = RowBytes(t, n_cols).value();
  const int64_t n_rows = bytes / static_cast<int64_t>(row) / 16 * 16;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> src(static_cast<size_t>(n_cols));
  for (auto& v : src) v = dist(rng);
  std::vector<uint8_t> wq(row * n_rows);
  (void)Quantize(t, src.data(), wq.data(), n_cols);  // every row the same: one quantized copy
  for (int64_t r = 1; r < n_rows; ++r) std::memcpy(wq.data() + r * row, wq.data(), row);
  auto packed = std::unique_ptr<uint8_t, void (*)(void*)>(
      static_cast<uint8_t*>(std::aligned_alloc(64, (pg.bytes(n_rows, n_cols) + 63) / 64 * 64)),
      std::free);
  pg.pack(wq.data(), n_rows, n_cols, packed.get());
  const int64_t act_row = kernels::ActRowBytes(t, n_cols);
  std::vector<uint8_t> act(static_cast<size_t>(act_row * n_tok));
  const auto& k = kernels::Active();  // the standard activation rows, any table
  for (int64_t i = 0; i < n_tok; ++i) {
    if (pg.act == kernels::ActFormat::kBF16) {  // rows rounded to bf16, one after another
      pg.pack_panel(src.data(), 1, n_cols, 0, 1, act.data() + i * n_cols * 2);
    } else if (pg.act == kernels::ActFormat::kF32) {
      std::memcpy(act.data() + i * act_row, src.data(), static_cast<size_t>(act_row));
    } else if (pg.act == kernels::ActFormat::kQ8K) {
      k.quantize_q8k(src.data(), reinterpret_cast<kernels::BlockQ8K*>(act.data() + i * act_row),
                     n_cols);
    } else {
      k.quantize_q8a(src.data(), reinterpret_cast<kernels::BlockQ8A*>(act.data() + i * act_row),
                     n_cols);
    }
  }
  std::vector<float> y(static_cast<size_t>(n_rows * n_tok));
  if (gemm) {
    auto panel = std::unique_ptr<uint8_t, void (*)(void*)>(
        static_cast<uint8_t*>(
            std::aligned_alloc(64, (pg.panel_bytes(n_tok, n_cols) + 63) / 64 * 64)),
        std::free);
    for (auto _ : state) {
      pg.pack_panel(act.data(), n_tok, n_cols, 0, (n_tok + 15) / 16, panel.get());
      pg.gemm(packed.get(), n_rows, n_cols, panel.get(), n_tok, y.data(), 0, n_rows / 16);
    }
    benchmark::DoNotOptimize(y.data());
    state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n_rows *
                            static_cast<int64_t>(row));
    return;
  }
  for (auto _ : state) {
    if (n_tok == 1)
      pg.gemv(packed.get(), n_rows, n_cols, act.data(), y.data(), 0, n_rows / 16);
    else
      pg.gemv_multi(packed.get(), n_rows, n_cols, act.data(), n_tok, y.data(), 0, n_rows / 16);
  }
  benchmark::DoNotOptimize(y.data());
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * n_rows *
                          static_cast<int64_t>(row));
}

// Decode (n_tok tokens: gemv, or gemv_multi for a batch) over the 1.5B model's layer shapes, as the
// engine walks them: q, k, v, o, gate, up (1536 columns) and down (8960 columns), each its own
// allocation, layer after layer (about 512 MB in all, so every byte comes from DRAM). One thread
// takes the first half of each matrix's row groups, as each of two engine threads does; against
// gemv/<type>/512MB/1tok it shows what the short, separate streams cost (each matrix restarts the
// prefetch).
void BM_LayerWalk(benchmark::State& state, DType t, kernels::PackedGemm pg, int64_t n_tok) {
  struct Shape {
    int64_t n_rows, n_cols;
  };
  const Shape shapes[] = {{1536, 1536}, {256, 1536},  {256, 1536}, {1536, 1536},
                          {8960, 1536}, {8960, 1536}, {1536, 8960}};
  uint64_t layer_bytes = 0;
  for (const Shape& s : shapes) layer_bytes += pg.bytes(s.n_rows, s.n_cols);
  const int n_layers = static_cast<int>((uint64_t{1024} << 20) / layer_bytes) + 1;
  using Buf = std::unique_ptr<uint8_t, void (*)(void*)>;
  std::vector<Buf> mats;
  std::mt19937 rng(1);
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> src(8960);
  for (auto& v : src) v = dist(rng);
  for (const Shape& s : shapes) {  // one packed copy per shape; the layers copy it
    const uint64_t row = RowBytes(t, s.n_cols).value();
    std::vector<uint8_t> wq(row * s.n_rows);
    (void)Quantize(t, src.data(), wq.data(), s.n_cols);
    for (int64_t r = 1; r < s.n_rows; ++r) std::memcpy(wq.data() + r * row, wq.data(), row);
    const uint64_t n = pg.bytes(s.n_rows, s.n_cols);
    mats.emplace_back(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64)), std::free);
    pg.pack(wq.data(), s.n_rows, s.n_cols, mats.back().get());
  }
  for (int l = 1; l < n_layers; ++l)
    for (size_t i = 0; i < std::size(shapes); ++i) {
      const uint64_t n = pg.bytes(shapes[i].n_rows, shapes[i].n_cols);
      mats.emplace_back(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64)),
                        std::free);
      std::memcpy(mats.back().get(), mats[i].get(), n);
    }
  const auto& k = kernels::Active();
  std::vector<uint8_t> act1(static_cast<size_t>(kernels::ActRowBytes(t, 1536) * n_tok)),
      act2(static_cast<size_t>(kernels::ActRowBytes(t, 8960) * n_tok));
  const bool q8k = pg.act == kernels::ActFormat::kQ8K;
  for (auto [n, a] : {std::pair{int64_t{1536}, &act1}, std::pair{int64_t{8960}, &act2}})
    for (int64_t i = 0; i < n_tok; ++i) {
      uint8_t* row = a->data() + i * kernels::ActRowBytes(t, n);
      if (pg.act == kernels::ActFormat::kF32)
        std::memcpy(row, src.data(), static_cast<size_t>(n) * sizeof(float));
      else if (q8k)
        k.quantize_q8k(src.data(), reinterpret_cast<kernels::BlockQ8K*>(row), n);
      else
        k.quantize_q8a(src.data(), reinterpret_cast<kernels::BlockQ8A*>(row), n);
    }
  std::vector<float> y(static_cast<size_t>(8960 * n_tok));
  uint64_t bytes = 0;
  for (auto _ : state)
    for (size_t m = 0; m < mats.size(); ++m) {
      const Shape& s = shapes[m % std::size(shapes)];
      const int64_t g1 = s.n_rows / 16 / 2;
      const uint8_t* x = s.n_cols == 1536 ? act1.data() : act2.data();
      if (n_tok == 1)
        pg.gemv(mats[m].get(), s.n_rows, s.n_cols, x, y.data(), 0, g1);
      else
        pg.gemv_multi(mats[m].get(), s.n_rows, s.n_cols, x, n_tok, y.data(), 0, g1);
      bytes += pg.bytes(s.n_rows, s.n_cols) / 2;
    }
  benchmark::DoNotOptimize(y.data());
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
}

void BM_ReadBandwidth(benchmark::State& state) {
  ThreadPool pool(static_cast<int>(state.range(0)));
  double bw = 0;
  for (auto _ : state) bw = MeasureReadBandwidth(kernels::Active(), pool, 512ull << 20, 1);
  state.counters["GB/s"] = bw / 1e9;
}

// Decode attention: one tile of `rows` query rows (a token's GQA group) over n_pos positions of
// KV head 0, head size 128, for each of n_seqs sequences in turn. Positions are laid out as one
// layer of the engine's KV arena holds them: a slab per K|V and head, [block][4][128] floats.
// The sequences' blocks follow each other (`linear`: one run per sequence, as the pool hands out
// blocks to a lone sequence) or come in a shuffled order (`shuffled`: a run per block, as when
// many sequences grow side by side). One sequence keeps K and V in L2 (128–512 positions) or L3
// (4096); 32768 / n_pos sequences (64 MB) make them come from DRAM, as in a decode step.
// Reports rows × positions per second (items).
void BM_Attend(benchmark::State& state, kernels::Isa isa, int64_t rows, int64_t n_pos,
               int64_t n_seqs, bool shuffled) {
  const auto& k = kernels::KernelsFor(isa);
  constexpr int64_t kHd = 128, kHeads = 2, kBlock = 4;
  const int64_t n_blk = (n_pos + kBlock - 1) / kBlock, n_blocks = n_seqs * n_blk;
  const int64_t slab = n_blocks * kBlock * kHd;  // floats
  std::mt19937 rng(3);
  std::normal_distribution<float> dist(0, 1);
  std::vector<float> kv(static_cast<size_t>(2 * kHeads * slab));
  for (auto& v : kv) v = dist(rng);
  std::vector<int64_t> order(static_cast<size_t>(n_blocks));
  for (int64_t b = 0; b < n_blocks; ++b) order[static_cast<size_t>(b)] = b;
  if (shuffled) std::shuffle(order.begin(), order.end(), rng);
  const int64_t n_runs = shuffled ? n_blk : 1;
  std::vector<const float*> kp(static_cast<size_t>(n_seqs * n_runs)), vp(kp.size());
  for (int64_t i = 0; i < n_seqs * n_runs; ++i) {
    const int64_t blk = order[static_cast<size_t>(shuffled ? i : i * n_blk)];
    kp[static_cast<size_t>(i)] = kv.data() + blk * kBlock * kHd;              // K, head 0
    vp[static_cast<size_t>(i)] = kp[static_cast<size_t>(i)] + kHeads * slab;  // V, head 0
  }
  std::vector<int64_t> run(static_cast<size_t>(n_runs), shuffled ? kBlock : n_pos);
  if (shuffled) run.back() = n_pos - (n_runs - 1) * kBlock;
  std::vector<float> q(static_cast<size_t>(rows * kHd)), out(q.size());
  for (auto& v : q) v = dist(rng);
  std::vector<const float*> qp;
  std::vector<float*> op;
  for (int64_t i = 0; i < rows; ++i) {
    qp.push_back(q.data() + i * kHd);
    op.push_back(out.data() + i * kHd);
  }
  const std::vector<int64_t> n_vis(static_cast<size_t>(rows), n_pos);
  std::vector<float> scratch(static_cast<size_t>(kernels::AttnScratchFloats(rows, n_pos, kHd)));
  kernels::AttnTile t;
  t.head_dim = kHd;
  t.n_rows = rows;
  t.q = qp.data();
  t.out = op.data();
  t.n_vis = n_vis.data();
  t.scale = 0.088f;
  t.run = run.data();
  t.n_runs = n_runs;
  t.kv_stride = kHd;
  t.scratch = scratch.data();
  for (auto _ : state)
    for (int64_t s = 0; s < n_seqs; ++s) {
      t.k = kp.data() + s * n_runs;
      t.v = vp.data() + s * n_runs;
      kernels::Attend(k, t);
    }
  benchmark::DoNotOptimize(out.data());
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n_seqs * rows * n_pos);
}

int Register() {
  for (kernels::Isa isa : kernels::AvailableIsas())
    for (int64_t rows : {6, 12, 16})
      for (int64_t n_pos : {128, 512, 4096})
        for (int64_t n_seqs : {int64_t{1}, 32768 / n_pos})  // in cache; 64 MB of K and V
          for (bool shuffled : {false, true})
            benchmark::RegisterBenchmark(
                ("attend/" + std::string(kernels::IsaName(isa)) + "/" + std::to_string(rows) +
                 "rows/" + std::to_string(n_pos) + "pos/" + std::to_string(n_seqs) + "seq/" +
                 (shuffled ? "shuffled" : "linear"))
                    .c_str(),
                BM_Attend, isa, rows, n_pos, n_seqs, shuffled)
                ->Unit(benchmark::kMicrosecond);
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
  const std::pair<int64_t, int64_t> shapes[] = {
      {1536, 1536}, {256, 1536}, {8960, 1536}, {1536, 8960}};
  for (kernels::Isa isa : kernels::AvailableIsas()) {
    if (isa == kernels::Isa::kScalar) continue;
    // Each type's variants: VNNI (or its only one) and AMX; bf16 as vdpbf16ps and widened;
    // the AVX2 table's int8 types.
    struct Variant {
      DType t;
      const char* name;
      kernels::PackedGemm pg;
    };
    std::vector<Variant> variants;
    if (isa == kernels::Isa::kAvx2) {
      for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K})
        variants.push_back({t, "avx2", kernels::PackedGemmAvx2(t)});
      for (DType t : {DType::kF16, DType::kBF16})
        variants.push_back({t, "avx2", kernels::PackedFloatGemmAvx2(t)});
    } else {
      for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kF16}) {
        variants.push_back({t, "vnni", kernels::PackedGemmFor(t, false)});
        variants.push_back({t, "amx", kernels::PackedGemmFor(t, true)});
      }
      variants.push_back({DType::kBF16, "dpbf16", kernels::PackedBF16Gemm(true)});
      variants.push_back({DType::kBF16, "widen", kernels::PackedBF16Gemm(false)});
    }
    for (const Variant& v : variants) {
      if (v.pg.gemm == nullptr) continue;
      const std::string type(DTypeName(v.t));
      // gemv is shared by a type's VNNI and AMX variants; named by type alone for those.
      const std::string gemv_name =
          v.t == DType::kBF16 || isa == kernels::Isa::kAvx2 ? type + "/" + v.name : type;
      if (std::string(v.name) != "amx")
        for (int64_t kb : {256, 1024, 512 * 1024})  // in L2, about L2's size, from DRAM
          for (int64_t n_tok : {1, 4, 8, 10, 12, 16}) {
            if (n_tok > 1 && v.pg.gemv_multi == nullptr) continue;
            const std::string size =
                kb < 1024 ? std::to_string(kb) + "KB" : std::to_string(kb / 1024) + "MB";
            std::string base = "gemv/";
            base += gemv_name;
            base += '/';
            base += size;
            const std::string tok = std::to_string(n_tok) + "tok";
            benchmark::RegisterBenchmark((base + '/').append(tok).c_str(), BM_PackedGemv, v.t, v.pg,
                                         kb << 10, n_tok, false, int64_t{1536})
                ->Unit(benchmark::kMillisecond);
            if (n_tok == 1 || n_tok == 10)
              benchmark::RegisterBenchmark((base + "/K8960/").append(tok).c_str(), BM_PackedGemv,
                                           v.t, v.pg, kb << 10, n_tok, false, int64_t{8960})
                  ->Unit(benchmark::kMillisecond);
          }
      // The GEMM on decode-batch sizes from DRAM: where it overtakes gemv_multi.
      if (v.pg.pack_panel != nullptr && v.t != DType::kBF16)
        for (int64_t n_tok : {4, 8, 12, 16})
          benchmark::RegisterBenchmark(
              ("batch/" + type + "/" + v.name + "/512MB/" + std::to_string(n_tok) + "tok").c_str(),
              BM_PackedGemv, v.t, v.pg, int64_t{512} << 20, n_tok, true, int64_t{1536})
              ->Unit(benchmark::kMillisecond);
      if (std::string(v.name) != "amx" && v.pg.gemv != nullptr && v.t != DType::kBF16)
        for (int64_t n_tok : {1, 4, 10})
          if (n_tok == 1 || v.pg.gemv_multi != nullptr)
            benchmark::RegisterBenchmark(
                ("layers/" + gemv_name + "/" + std::to_string(n_tok) + "tok").c_str(), BM_LayerWalk,
                v.t, v.pg, n_tok)
                ->Unit(benchmark::kMillisecond);
      for (const auto& [n, kc] : shapes) {
        const std::string name =
            "gemm/" + type + "/" + v.name + "/" + std::to_string(n) + "x" + std::to_string(kc);
        benchmark::RegisterBenchmark(name.c_str(), BM_PackedGemm, v.t, v.pg, n, kc)
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  return 0;
}
const int registered = Register();

}  // namespace
}  // namespace seekd

BENCHMARK_MAIN();
