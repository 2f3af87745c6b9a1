// seekd bench-model --model PATH [-p 512] [-n 128] [--threads N] [--reps 5] [--quant T] [--json]
//
// Prefill (p tokens in one pass from an empty context) and decode (n single-token steps from
// an empty context) tokens/s, median and spread over repetitions; decode as a share of the
// memory-bandwidth limit (weight bytes streamed per token ÷ read bandwidth measured here with
// the same threads, before and after the runs; and each decode repetition against the
// bandwidth measured right beside it); prefill GFLOP/s against this machine's measured peak for
// the instruction the weights use (int8 dot products for quantized types, vdpbf16ps for bf16
// where the CPU has it, FMA for float types).
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <iostream>
#include <random>

#include "cli/commands.h"
#include "cli/compute_peak.h"
#include "cli/model_flags.h"
#include "core/kernels/packed.h"
#include "core/machine_probe.h"
#include "model/forward.h"
#include "model/llm.h"
#include "model/pack_cache.h"

namespace seekd::cli {
namespace {

struct Options {
  std::string model, quant, pack_cache;
  int64_t prompt = 512, gen = 128;
  int threads = 0, reps = 5;
  int64_t probe_mib = 1024;
  bool json = false, no_repack = false;
};

struct Stat {
  double median = 0, stdev = 0, min = 0, max = 0;
};

Stat Summarize(std::vector<double> v) {
  Stat s;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
  s.min = v.front();
  s.max = v.back();
  double mean = 0;
  for (double x : v) mean += x / static_cast<double>(n);
  for (double x : v) s.stdev += (x - mean) * (x - mean) / static_cast<double>(n > 1 ? n - 1 : 1);
  s.stdev = std::sqrt(s.stdev);
  return s;
}

double Since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int Run(const Options& o) {
  model::LoadOptions lo;
  lo.repack = !o.no_repack;
  lo.pack_cache_dir = model::ResolvePackCacheDir(o.pack_cache);
  if (!o.quant.empty()) {
    const auto q = DTypeFromName(o.quant);
    if (!q || !kernels::HasVecDot(*q)) {
      std::cerr << "seekd bench-model: --quant " << o.quant << " is not a computable type\n";
      return 1;
    }
    lo.quant = *q;
  }
  auto t_load = std::chrono::steady_clock::now();
  auto loaded = model::LoadLlm(o.model, lo);
  if (!loaded.ok()) {
    std::cerr << "seekd bench-model: " << loaded.status().ToString() << "\n";
    return 1;
  }
  const double load_s = Since(t_load);
  (*loaded)->FinishPackCache();  // a first load stores the packed copy: not while measuring
  const model::Llm& llm = **loaded;
  const model::LlmConfig& c = llm.config();
  if (o.prompt < 1 || o.gen < 1 || o.reps < 1 || o.prompt + o.gen > c.n_ctx_train) {
    std::cerr << "seekd bench-model: -p and -n must be positive and fit the context ("
              << c.n_ctx_train << ")\n";
    return 1;
  }
  const int threads = o.threads > 0 ? o.threads : PhysicalCoreCount();
  ThreadPool pool(threads);
  const kernels::Kernels& k = kernels::Active();
  if (!o.json) std::cerr << "measuring memory bandwidth and peak rates...\n";
  // The machine is shared and noisy: bandwidth and peak rates are measured before and after the
  // runs and the best figures are the limits (the shares reported are then lower bounds).
  const uint64_t probe_bytes = static_cast<uint64_t>(std::max<int64_t>(o.probe_mib, 1)) << 20;
  double bandwidth = MeasureReadBandwidth(k, pool, probe_bytes);
  // The peak probe scales with --probe-mib so quick runs (tests, sanitizer builds) stay quick.
  const int64_t peak_iters = 20'000 * std::min<int64_t>(o.probe_mib, 1024);
  PeakRates peak = MeasurePeakRates(k, pool, peak_iters);

  model::Forward fwd(llm, pool, k);
  model::ContiguousKv kv(c, std::max(o.prompt, o.gen) + 1);
  model::KvStore* seqs[] = {&kv};
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(c.n_vocab - 1));
  std::vector<model::BatchToken> batch;
  for (int64_t i = 0; i < o.prompt; ++i) batch.push_back({tok(rng), i, 0, i == o.prompt - 1});
  std::vector<float> logits;
  std::vector<double> pp, tg;
  // Each counted decode also gets the bandwidth measured right before and right after it (one
  // pass per pattern), and its own share against the larger: this machine's bandwidth moves
  // from minute to minute, and a limit measured seconds away from a decode can be far from the
  // one the decode ran under.
  std::vector<double> rep_share, rep_bandwidth;
  for (int r = 0; r <= o.reps; ++r) {  // repetition 0 warms caches and page tables, not counted
    const auto t0 = std::chrono::steady_clock::now();
    for (int64_t b = 0; b < o.prompt; b += 512) {
      const auto end = std::min<int64_t>(o.prompt, b + 512);
      if (Status st = fwd.Run({batch.data() + b, static_cast<size_t>(end - b)}, seqs, &logits);
          !st.ok()) {
        std::cerr << "seekd bench-model: " << st.ToString() << "\n";
        return 1;
      }
    }
    const double dt_pp = Since(t0);
    const double bw_before = r > 0 ? MeasureReadBandwidth(k, pool, probe_bytes, 1) : 0;
    const auto t1 = std::chrono::steady_clock::now();
    int32_t next = batch[0].token;
    for (int64_t i = 0; i < o.gen; ++i) {
      const model::BatchToken bt{next, i, 0, true};
      if (Status st = fwd.Run({&bt, 1}, seqs, &logits); !st.ok()) {
        std::cerr << "seekd bench-model: " << st.ToString() << "\n";
        return 1;
      }
      next = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    const double dt_tg = Since(t1);
    if (r == 0) continue;
    const double bw_rep = std::max(bw_before, MeasureReadBandwidth(k, pool, probe_bytes, 1));
    pp.push_back(static_cast<double>(o.prompt) / dt_pp);
    tg.push_back(static_cast<double>(o.gen) / dt_tg);
    rep_bandwidth.push_back(bw_rep);
    rep_share.push_back(tg.back() * static_cast<double>(llm.StreamedBytesPerToken()) / bw_rep);
  }
  bandwidth = std::max(bandwidth, MeasureReadBandwidth(k, pool, probe_bytes));
  peak = peak.Max(MeasurePeakRates(k, pool, peak_iters));
  const Stat spp = Summarize(pp), stg = Summarize(tg), sshare = Summarize(rep_share);
  const double bytes_per_token = static_cast<double>(llm.StreamedBytesPerToken());
  const double limit_tps = bandwidth / bytes_per_token;
  const DType main_type = MainWeightType(llm);
  const ComputePeak cp = PeakForModel(llm, k, peak);
  const bool int8 = cp.int8, packed = cp.packed, bf16 = cp.bf16;
  const double peak_flops = cp.flops;
  const char* peak_name = cp.instruction;
  // Asked only of the AVX-512 table: PackedGemmFor is AVX-512 code.
  const auto amx_gemm = k.isa == kernels::Isa::kAvx512
                            ? kernels::PackedGemmFor(main_type, /*amx=*/true).gemm
                            : nullptr;
  const bool amx =
      packed && amx_gemm != nullptr && k.packed[static_cast<int>(main_type)].gemm == amx_gemm;
  const std::string gemm = !packed                        ? "per-row dot kernels"
                           : bf16                         ? "packed bf16 GEMM, vdpbf16ps"
                           : !int8                        ? "packed f32-FMA GEMM"
                           : amx                          ? "packed int8 GEMM, AMX tiles"
                           : k.isa == kernels::Isa::kAvx2 ? "packed int8 GEMM, vpmaddubsw"
                                                          : "packed int8 GEMM, VNNI";
  const double amx_peak_flops = 2 * peak.amx_macs_per_s;
  // Prefill computes the output matrix for the last token only.
  const double pp_flops =
      2.0 * llm.MatMulMacs(o.prompt, 1) * spp.median / static_cast<double>(o.prompt);

  if (o.json) {
    nlohmann::json j = {
        {"model", o.model},
        {"architecture", c.arch},
        {"weights", llm.description().DTypeMix()},
        {"main_weight_type", std::string(DTypeName(main_type))},
        {"threads", threads},
        {"isa", std::string(kernels::IsaName(k.isa))},
        {"load_s", load_s},
        {"pack_cache", llm.pack_cache().state},
        {"prompt_tokens", o.prompt},
        {"gen_tokens", o.gen},
        {"reps", o.reps},
        {"prefill_tokens_per_s",
         {{"median", spp.median}, {"stdev", spp.stdev}, {"min", spp.min}, {"max", spp.max}}},
        {"decode_tokens_per_s",
         {{"median", stg.median}, {"stdev", stg.stdev}, {"min", stg.min}, {"max", stg.max}}},
        {"weight_bytes_per_token", bytes_per_token},
        {"read_bandwidth_bytes_per_s", bandwidth},
        {"decode_limit_tokens_per_s", limit_tps},
        {"decode_share_of_bandwidth_limit", stg.median / limit_tps},
        {"decode_share_per_rep",
         {{"median", sshare.median}, {"min", sshare.min}, {"max", sshare.max}}},
        {"read_bandwidth_per_rep_bytes_per_s", rep_bandwidth},
        {"decode_tokens_per_s_per_rep", tg},
        {"prefill_gflops", pp_flops / 1e9},
        {"peak_gflops", peak_flops / 1e9},
        {"peak_instruction", peak_name},
        {"prefill_share_of_peak", pp_flops / peak_flops},
        {"prefill_gemm", gemm}};
    if (amx) {
      j["amx_peak_gflops"] = amx_peak_flops / 1e9;
      j["prefill_share_of_amx_peak"] = pp_flops / amx_peak_flops;
    }
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format(
      "model    {} ({}, {})\n"
      "machine  {} threads, isa {}, read bandwidth {:.1f} GB/s, peak {:.0f} GFLOP/s ({})\n"
      "prefill  pp{:<5} {:8.1f} tok/s ± {:.1f}   {:.1f} GFLOP/s = {:.0f}% of peak ({}{})\n"
      "decode   tg{:<5} {:8.1f} tok/s ± {:.1f}   {:.0f} MB/token, limit {:.1f} tok/s → {:.0f}% of "
      "the bandwidth limit\n"
      "         each repetition against the bandwidth measured beside it: {:.0f}% (median; "
      "{:.0f}–{:.0f}%)\n",
      o.model, c.arch, llm.description().DTypeMix(), threads, kernels::IsaName(k.isa),
      bandwidth / 1e9, peak_flops / 1e9, peak_name, o.prompt, spp.median, spp.stdev, pp_flops / 1e9,
      100 * pp_flops / peak_flops, gemm,
      amx ? fmt::format("; {:.0f}% of the AMX peak of {:.0f} GFLOP/s",
                        100 * pp_flops / amx_peak_flops, amx_peak_flops / 1e9)
          : std::string(),
      o.gen, stg.median, stg.stdev, bytes_per_token / 1e6, limit_tps, 100 * stg.median / limit_tps,
      100 * sshare.median, 100 * sshare.min, 100 * sshare.max);
  const model::PackCacheStatus& pc = llm.pack_cache();
  std::cout << fmt::format("load     {:.2f} s, packed-weight cache {}{}\n", load_s, pc.state,
                           pc.reason.empty() ? std::string() : " (" + pc.reason + ")");
  return 0;
}

CommandRegistrar reg("bench-model", [](CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand(
      "bench-model", "Prefill and decode speed against this machine's bandwidth and peak");
  c->add_option("--model,-m", o->model, "GGUF file or Hugging Face model folder")->required();
  c->add_option("-p,--prompt-tokens", o->prompt, "prefill length")->capture_default_str();
  c->add_option("-n,--gen-tokens", o->gen, "decode steps")->capture_default_str();
  c->add_option("--threads,-t", o->threads, "compute threads (default: physical cores)");
  c->add_option("--reps,-r", o->reps, "repetitions (after one warm-up)")->capture_default_str();
  c->add_option("--quant", o->quant, "re-quantize weights at load");
  c->add_option("--probe-mib", o->probe_mib,
                "bandwidth probe buffer (well above the caches; small only for quick checks)")
      ->capture_default_str();
  c->add_flag("--no-repack", o->no_repack,
              "keep Q8_0/Q4_0 weights as stored (per-row kernels), for comparison");
  AddPackCacheFlag(c, &o->pack_cache);
  c->add_flag("--json", o->json, "print one JSON object");
  c->callback([o, exit_code] { *exit_code = Run(*o); });
});

}  // namespace
}  // namespace seekd::cli
