// seekd bench-engine --model PATH [--concurrency 1,4,10,16] [--prompt-len L] [--gen-len G]
//                    [--shared-prefix P] [--threads N] [--kv-cache-mem MB] [--rounds R] [--json]
//
// In-process serving benchmark, no HTTP: for each concurrency level, that many requests are
// submitted at once to a fresh engine (cold prefix cache) and run to completion. Reports the
// aggregate generated tokens/s and its gain over level 1, the aggregate decode rate (Σ over
// the streams of 1 / their time per output token: each stream's own prefill and queueing left
// out, but not the steps in which others' prefill chunks ran beside it) and its gain, the steady
// decode rate (tokens per second while every stream decodes: cli/decode_rate.h) and its gain,
// TTFT and time per output token percentiles, KV blocks used at peak, and the compute rate
// reached (2 · weight MACs per computed token) over the run and over the steady window, the
// latter against the machine's peak for the model's instruction mix (measured at start, as
// bench-model does). With --rounds R the levels run R times in turn (1, 4, 10, 1, 4, 10, …), each
// round's gains against its own first level, and the report gives each figure's median over the
// rounds: on a machine whose memory bandwidth drifts from minute to minute, a gain taken from
// two runs minutes apart measures the drift as much as the engine.
#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <random>
#include <sstream>

#include "cli/commands.h"
#include "cli/compute_peak.h"
#include "cli/decode_rate.h"
#include "cli/model_flags.h"
#include "cli/percentile.h"
#include "core/machine_probe.h"
#include "core/thread_pool.h"
#include "engine/engine.h"
#include "model/llm.h"
#include "model/pack_cache.h"

namespace seekd::cli {
namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string model, levels = "1,4,10,16";
  int64_t prompt_len = 128, gen_len = 64, shared_prefix = 0, kv_mb = 0;
  int threads = 0, rounds = 1;
  bool json = false;
  std::string kv_dtype = "f32", pack_cache;
  int32_t kv_block = 4;
};

struct LevelResult {
  int level = 0;
  double wall_s = 0, tokens_per_s = 0, gflops = 0;
  double steady_gflops = 0;        // 2 · weight MACs of the steady window's tokens per second
  double decode_tokens_per_s = 0;  // Σ 1 / tpot over the streams
  SteadyDecode steady;             // while every stream decodes
  double cold_ttft = 0;            // the warm-up request's TTFT (with --shared-prefix)
  std::vector<double> ttft, tpot;
  int64_t generated = 0, cached = 0, preemptions = 0;
  int32_t peak_blocks = 0, total_blocks = 0;
  double kv_unused = 0;  // slots held but not filled ÷ slots held, averaged over the run
};

Result<LevelResult> RunLevel(const model::Llm& llm, const Options& o, int level) {
  engine::EngineOptions eo;
  eo.threads = o.threads;
  eo.scheduler.max_seqs = std::max(16, level);
  eo.scheduler.max_queue = std::max(256, level);
  eo.scheduler.max_model_len = std::min<int64_t>(llm.config().n_ctx_train, 1 << 16);
  const uint64_t need = static_cast<uint64_t>(level) *
                        static_cast<uint64_t>(o.prompt_len + o.gen_len + 16) *
                        engine::KvArena::BlockBytes(llm.config(), 16, o.kv_dtype == "int8") / 16;
  eo.kv_int8 = o.kv_dtype == "int8";
  eo.block_size = o.kv_block;
  eo.kv_cache_bytes = o.kv_mb > 0 ? static_cast<uint64_t>(o.kv_mb) << 20 : need + (64ull << 20);
  engine::Engine eng(llm, eo);

  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> tok(0, static_cast<int32_t>(llm.config().n_vocab - 1));
  std::vector<int32_t> shared(static_cast<size_t>(o.shared_prefix));
  for (auto& t : shared) t = tok(rng);

  LevelResult res;
  // With a shared prefix, one request runs alone first (cold cache); the level's requests then
  // find the prefix cached. Its TTFT is the cold figure the level's TTFTs compare against.
  if (o.shared_prefix > 0) {
    std::mutex wmu;
    std::condition_variable wcv;
    bool done = false;
    Clock::time_point first_tok;
    bool got = false;
    engine::Request r;
    r.prompt = shared;
    while (static_cast<int64_t>(r.prompt.size()) < o.prompt_len) r.prompt.push_back(tok(rng));
    r.max_tokens = 1;
    r.sampling.greedy = true;
    const auto ts = Clock::now();
    auto id = eng.Submit(r, [&](const engine::Event& e) {
      std::lock_guard<std::mutex> lock(wmu);
      if (e.kind == engine::Event::Kind::kToken && !got) {
        got = true;
        first_tok = Clock::now();
      }
      if (e.kind == engine::Event::Kind::kFinish) {
        done = true;
        wcv.notify_all();
      }
    });
    if (!id.ok()) return id.status();
    std::unique_lock<std::mutex> lock(wmu);
    wcv.wait(lock, [&] { return done; });
    res.cold_ttft = std::chrono::duration<double>(first_tok - ts).count();
  }
  const engine::EngineStats before = eng.stats();

  std::mutex mu;
  std::condition_variable cv;
  int finished = 0;
  std::vector<Clock::time_point> submit(static_cast<size_t>(level)),
      first(static_cast<size_t>(level)), last(static_cast<size_t>(level));
  std::vector<int32_t> count(static_cast<size_t>(level)), cached(static_cast<size_t>(level));
  std::vector<std::vector<double>> times(static_cast<size_t>(level));  // s since t0, per token
  std::vector<std::string> errors;
  const auto t0 = Clock::now();
  for (int i = 0; i < level; ++i) {
    engine::Request r;
    r.prompt = shared;
    while (static_cast<int64_t>(r.prompt.size()) < o.prompt_len) r.prompt.push_back(tok(rng));
    r.max_tokens = static_cast<int32_t>(o.gen_len);
    r.sampling.greedy = true;  // no stop tokens: every request generates exactly gen_len
    const auto k = static_cast<size_t>(i);
    submit[k] = Clock::now();
    auto id = eng.Submit(r, [&, k](const engine::Event& e) {
      std::lock_guard<std::mutex> lock(mu);
      const auto now = Clock::now();
      if (e.kind == engine::Event::Kind::kToken) {
        if (count[k]++ == 0) first[k] = now;
        last[k] = now;
        times[k].push_back(std::chrono::duration<double>(now - t0).count());
        return;
      }
      cached[k] = e.cached_prompt_tokens;
      if (e.finish_reason == "error") errors.push_back(e.error.ToString());
      ++finished;
      cv.notify_all();
    });
    if (!id.ok()) return id.status();
  }
  int32_t peak_blocks = 0;
  int64_t held_sum = 0, unfilled_sum = 0;
  {
    std::unique_lock<std::mutex> lock(mu);
    while (finished < level) {
      cv.wait_for(lock, std::chrono::milliseconds(5));
      const engine::EngineStats s = eng.stats();
      peak_blocks = std::max(peak_blocks, s.kv_blocks_used);
      held_sum += s.kv_slots_held;
      unfilled_sum += s.kv_slots_unfilled;
    }
  }
  res.kv_unused =
      held_sum > 0 ? static_cast<double>(unfilled_sum) / static_cast<double>(held_sum) : 0;
  if (!errors.empty()) return Internal(errors.front());
  res.level = level;
  res.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  engine::EngineStats st = eng.stats();
  st.generated_tokens -= before.generated_tokens;
  st.tokens_computed -= before.tokens_computed;
  res.generated = st.generated_tokens;
  res.tokens_per_s = static_cast<double>(res.generated) / res.wall_s;
  // Every computed token runs the layer matrices; only sampled ones run the output matrix.
  res.gflops = 2.0 * llm.MatMulMacs(st.tokens_computed, st.generated_tokens) / res.wall_s / 1e9;
  res.preemptions = st.preemptions;
  res.peak_blocks = peak_blocks;
  res.total_blocks = st.kv_blocks_total;
  for (int i = 0; i < level; ++i) {
    const auto k = static_cast<size_t>(i);
    res.ttft.push_back(std::chrono::duration<double>(first[k] - submit[k]).count());
    if (count[k] > 1) {
      const double tpot =
          std::chrono::duration<double>(last[k] - first[k]).count() / (count[k] - 1);
      res.tpot.push_back(tpot);
      if (tpot > 0) res.decode_tokens_per_s += 1.0 / tpot;
    }
    res.cached += cached[k];
  }
  res.steady = SteadyDecodeRate(times);
  // Every token of the steady window is a decode token: layer matrices and the output matrix.
  res.steady_gflops = 2.0 * llm.MatMulMacs(1, 1) * res.steady.tokens_per_s / 1e9;
  return res;
}

// One level's result and its gains over its round's first level.
struct Row {
  LevelResult r;
  double gain = 1, decode_gain = 1, steady_gain = 1;
};

double Median(const std::vector<Row>& rows, double (*of)(const Row&)) {
  std::vector<double> v;
  v.reserve(rows.size());
  for (const Row& r : rows) v.push_back(of(r));
  return Pct(v, 50);
}

// Each figure's median over the rounds (gains: the median of each round's own gain); TTFT and
// time-per-token samples pooled; KV blocks at their largest.
Row MedianRow(const std::vector<Row>& rows) {
  Row m = rows.front();
  LevelResult& r = m.r;
  r.wall_s = Median(rows, [](const Row& x) { return x.r.wall_s; });
  r.tokens_per_s = Median(rows, [](const Row& x) { return x.r.tokens_per_s; });
  r.gflops = Median(rows, [](const Row& x) { return x.r.gflops; });
  r.steady_gflops = Median(rows, [](const Row& x) { return x.r.steady_gflops; });
  r.decode_tokens_per_s = Median(rows, [](const Row& x) { return x.r.decode_tokens_per_s; });
  r.steady.tokens_per_s = Median(rows, [](const Row& x) { return x.r.steady.tokens_per_s; });
  r.steady.window_s = Median(rows, [](const Row& x) { return x.r.steady.window_s; });
  r.cold_ttft = Median(rows, [](const Row& x) { return x.r.cold_ttft; });
  r.kv_unused = Median(rows, [](const Row& x) { return x.r.kv_unused; });
  m.gain = Median(rows, [](const Row& x) { return x.gain; });
  m.decode_gain = Median(rows, [](const Row& x) { return x.decode_gain; });
  m.steady_gain = Median(rows, [](const Row& x) { return x.steady_gain; });
  r.ttft.clear();
  r.tpot.clear();
  for (const Row& x : rows) {
    r.ttft.insert(r.ttft.end(), x.r.ttft.begin(), x.r.ttft.end());
    r.tpot.insert(r.tpot.end(), x.r.tpot.begin(), x.r.tpot.end());
    r.peak_blocks = std::max(r.peak_blocks, x.r.peak_blocks);
    r.preemptions = std::max(r.preemptions, x.r.preemptions);
  }
  return m;
}

nlohmann::json RowJson(const Row& row, const ComputePeak& peak) {
  const LevelResult& r = row.r;
  return {
      {"concurrency", r.level},
      {"generated_tokens", r.generated},
      {"wall_s", r.wall_s},
      {"tokens_per_s", r.tokens_per_s},
      {"gain_over_first_level", row.gain},
      {"decode_tokens_per_s", r.decode_tokens_per_s},
      {"decode_gain_over_first_level", row.decode_gain},
      {"steady_decode_tokens_per_s", r.steady.tokens_per_s},
      {"steady_decode_gain_over_first_level", row.steady_gain},
      {"steady_decode_window_s", r.steady.window_s},
      {"ttft_s", {{"p50", Pct(r.ttft, 50)}, {"p90", Pct(r.ttft, 90)}, {"p99", Pct(r.ttft, 99)}}},
      {"tpot_s", {{"p50", Pct(r.tpot, 50)}, {"p90", Pct(r.tpot, 90)}, {"p99", Pct(r.tpot, 99)}}},
      {"gflops", r.gflops},
      {"steady_gflops", r.steady_gflops},
      {"peak_gflops", peak.flops / 1e9},
      {"peak_instruction", peak.instruction},
      {"steady_share_of_peak", peak.flops > 0 ? r.steady_gflops * 1e9 / peak.flops : 0},
      {"kv_blocks_peak", r.peak_blocks},
      {"kv_blocks_total", r.total_blocks},
      {"kv_unused_ratio", r.kv_unused},
      {"cached_prompt_tokens", r.cached},
      {"preemptions", r.preemptions}};
}

std::string RowLine(const Row& row, const ComputePeak& peak, bool cold_line) {
  const LevelResult& r = row.r;
  std::string s;
  if (cold_line)
    s = fmt::format("      cold TTFT (one request alone, prefix not cached) {:.3f}s\n",
                    r.cold_ttft);
  return s + fmt::format(
                 "{:>5} {:>10.1f} {:>5.2f}x {:>9.1f} {:>5.2f}x {:>9.1f} {:>5.2f}x {:>8.3f}s "
                 "{:>8.3f}s {:>8.3f}s {:>8.3f}s {:>9.1f} {:>9.1f} {:>4.0f}% {:>8} {:>7} "
                 "{:>8.1f}%\n",
                 r.level, r.tokens_per_s, row.gain, r.decode_tokens_per_s, row.decode_gain,
                 r.steady.tokens_per_s, row.steady_gain, Pct(r.ttft, 50), Pct(r.ttft, 99),
                 Pct(r.tpot, 50), Pct(r.tpot, 99), r.gflops, r.steady_gflops,
                 peak.flops > 0 ? 100.0 * r.steady_gflops * 1e9 / peak.flops : 0.0, r.peak_blocks,
                 r.cached, 100.0 * r.kv_unused);
}

int Run(const Options& o) {
  model::LoadOptions lo;
  lo.pack_cache_dir = model::ResolvePackCacheDir(o.pack_cache);
  auto loaded = model::LoadLlm(o.model, lo);
  if (!loaded.ok()) {
    std::cerr << "seekd bench-engine: " << loaded.status().ToString() << "\n";
    return 1;
  }
  (*loaded)->FinishPackCache();  // a first load stores the packed copy: not while measuring
  std::vector<int> levels;
  std::stringstream ss(o.levels);
  for (std::string part; std::getline(ss, part, ',');) {
    try {
      levels.push_back(std::stoi(part));
    } catch (const std::exception&) {
      levels.clear();
      break;
    }
  }
  if (levels.empty() || std::any_of(levels.begin(), levels.end(), [](int l) { return l < 1; }) ||
      o.prompt_len < 1 || o.gen_len < 1 || o.shared_prefix < 0 || o.shared_prefix > o.prompt_len ||
      o.rounds < 1) {
    std::cerr << "seekd bench-engine: --concurrency is a list of positive integers; lengths and "
                 "--rounds must be positive and --shared-prefix at most --prompt-len\n";
    return 1;
  }
  // The peak of the model's multiply instruction, measured before any engine thread runs.
  ComputePeak peak;
  {
    ThreadPool pool(o.threads > 0 ? o.threads : PhysicalCoreCount());
    peak = PeakForModel(**loaded, kernels::Active(), MeasurePeakRates(kernels::Active(), pool));
  }
  if (!o.json)
    std::cout << fmt::format(
                     "peak {:.0f} GFLOP/s ({}); steady GFLOP/s: the steady window's "
                     "decode tokens, its % of peak after it\n",
                     peak.flops / 1e9, peak.instruction)
              << fmt::format(
                     "{:>5} {:>10} {:>6} {:>9} {:>6} {:>9} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9} "
                     "{:>9} {:>5} {:>8} {:>7} {:>9}\n",
                     "conc", "tok/s", "gain", "dec tok/s", "gain", "steady", "gain", "ttft p50",
                     "ttft p99", "tpot p50", "tpot p99", "GFLOP/s", "steady", "%peak", "kv peak",
                     "cached", "kv unused");
  std::vector<std::vector<Row>> rounds;  // [round][level]
  for (int round = 0; round < o.rounds; ++round) {
    if (!o.json && o.rounds > 1) std::cout << fmt::format("round {}/{}\n", round + 1, o.rounds);
    std::vector<Row>& rows = rounds.emplace_back();
    for (int level : levels) {
      auto r = RunLevel(**loaded, o, level);
      if (!r.ok()) {
        std::cerr << "seekd bench-engine: " << r.status().ToString() << "\n";
        return 1;
      }
      Row row{std::move(*r), 1, 1, 1};
      if (!rows.empty()) {
        const LevelResult& b = rows.front().r;
        row.gain = row.r.tokens_per_s / b.tokens_per_s;
        row.decode_gain =
            b.decode_tokens_per_s > 0 ? row.r.decode_tokens_per_s / b.decode_tokens_per_s : 0;
        row.steady_gain =
            b.steady.tokens_per_s > 0 ? row.r.steady.tokens_per_s / b.steady.tokens_per_s : 0;
      }
      if (!o.json) std::cout << RowLine(row, peak, o.shared_prefix > 0) << std::flush;
      rows.push_back(std::move(row));
    }
  }
  nlohmann::json out = nlohmann::json::array();
  if (!o.json && o.rounds > 1)
    std::cout << fmt::format("median of {} rounds; steady gain over the rounds: min–max\n",
                             o.rounds);
  for (size_t i = 0; i < levels.size(); ++i) {
    std::vector<Row> per_round;
    per_round.reserve(rounds.size());
    for (const auto& rows : rounds) per_round.push_back(rows[i]);
    const Row m = o.rounds > 1 ? MedianRow(per_round) : per_round.front();
    if (o.json) {
      nlohmann::json j = RowJson(m, peak);
      if (o.rounds > 1) {
        j["rounds"] = nlohmann::json::array();
        for (const Row& r : per_round) j["rounds"].push_back(RowJson(r, peak));
      }
      out.push_back(std::move(j));
    } else if (o.rounds > 1) {
      double lo = per_round.front().steady_gain, hi = lo;
      for (const Row& r : per_round) {
        lo = std::min(lo, r.steady_gain);
        hi = std::max(hi, r.steady_gain);
      }
      std::cout << RowLine(m, peak, false)
                << fmt::format("{:>5} steady gain {:.2f}–{:.2f}x\n", "", lo, hi);
    }
  }
  if (o.json) std::cout << out.dump(2) << "\n";
  return 0;
}

CommandRegistrar reg("bench-engine", [](CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* c = app.add_subcommand(
      "bench-engine", "Serving throughput and latency under concurrency, in process (no HTTP)");
  c->add_option("--model,-m", o->model, "GGUF file or Hugging Face model folder")->required();
  c->add_option("--concurrency,-c", o->levels, "comma-separated levels")->capture_default_str();
  c->add_option("--prompt-len", o->prompt_len, "prompt tokens per request")->capture_default_str();
  c->add_option("--gen-len", o->gen_len, "generated tokens per request")->capture_default_str();
  c->add_option("--shared-prefix", o->shared_prefix, "leading prompt tokens all requests share")
      ->capture_default_str();
  c->add_option("--threads,-t", o->threads, "compute threads (default: physical cores)");
  AddPackCacheFlag(c, &o->pack_cache);
  c->add_option("--kv-cache-mem", o->kv_mb, "KV cache pool in MiB (default: what the level needs)");
  c->add_option("--kv-cache-dtype", o->kv_dtype, "f32 or int8")
      ->capture_default_str()
      ->check(CLI::IsMember({"f32", "int8"}));
  c->add_option("--kv-block-size", o->kv_block, "positions per KV block")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  c->add_option("--rounds", o->rounds,
                "run the levels this many times in turn and report medians (gains per round)")
      ->capture_default_str();
  c->add_flag("--json", o->json, "print JSON");
  c->callback([o, exit_code] { *exit_code = Run(*o); });
});

}  // namespace
}  // namespace seekd::cli
