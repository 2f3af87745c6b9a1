#include "server/metrics.h"

namespace seekd::server {

namespace {
std::vector<double> TokenBuckets() {
  return {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192};
}
}  // namespace

ServerMetrics::ServerMetrics(const ModelRegistry* models)
    : requests(registry.Counter("seekd_requests_total",
                                "HTTP requests by model, endpoint and status class",
                                {"model", "endpoint", "status"})),
      e2e(registry.Histogram("seekd_e2e_request_latency_seconds",
                             "Request latency from arrival to the last byte, seconds",
                             {"model", "endpoint"}, obs::LatencyBuckets())),
      ttft(registry.Histogram("seekd_time_to_first_token_seconds",
                              "Time from engine submission to the first generated token, seconds",
                              {"model"}, obs::LatencyBuckets())),
      tpot(registry.Histogram("seekd_time_per_output_token_seconds",
                              "Mean time per generated token after the first, seconds", {"model"},
                              {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3,
                               0.5, 0.75, 1, 2, 5})),
      queue(registry.Histogram("seekd_request_queue_time_seconds",
                               "Time a request waited before its first engine step, seconds",
                               {"model"}, obs::LatencyBuckets())),
      prefill(registry.Histogram("seekd_request_prefill_time_seconds",
                                 "Time from the first engine step to the first token, seconds",
                                 {"model"}, obs::LatencyBuckets())),
      step_tokens(registry.Histogram("seekd_iteration_tokens", "Tokens computed per engine step",
                                     {"model"}, TokenBuckets())),
      step_seqs(registry.Histogram("seekd_iteration_sequences", "Sequences per engine step",
                                   {"model"}, {1, 2, 4, 8, 16, 32, 64, 128, 256})),
      auth_failures(registry.Counter("seekd_auth_failures_total",
                                     "Requests refused by authentication, by reason", {"reason"})),
      rate_limited(registry.Counter("seekd_rate_limit_rejections_total",
                                    "Requests refused by a per-key rate limit")),
      quota_rejections(
          registry.Counter("seekd_quota_rejections_total",
                           "Requests refused because the key's token quota is used up")),
      admission_rejections(registry.Counter("seekd_admission_rejections_total",
                                            "Requests refused because the queue was full",
                                            {"model"})) {
  rate_limited.Inc({}, 0);  // present from the start (fed by per-key limits)
  quota_rejections.Inc({}, 0);
  obs::Family* running =
      &registry.Gauge("seekd_num_requests_running", "Sequences the engine is running", {"model"});
  obs::Family* waiting =
      &registry.Gauge("seekd_num_requests_waiting", "Sequences waiting for the engine", {"model"});
  obs::Family* blocks = &registry.Gauge(
      "seekd_kv_cache_blocks", "KV cache blocks by state (used, cached, free)", {"model", "state"});
  obs::Family* usage = &registry.Gauge("seekd_kv_cache_usage_ratio",
                                       "Share of KV blocks held by running sequences", {"model"});
  obs::Family* unused = &registry.Gauge(
      "seekd_kv_cache_unused_ratio",
      "Share of the KV slots running sequences hold that are not filled yet", {"model"});
  obs::Family* queries = &registry.Counter(
      "seekd_prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache", {"model"});
  obs::Family* hits = &registry.Counter("seekd_prefix_cache_hits_total",
                                        "Prompt tokens found in the prefix cache", {"model"});
  obs::Family* prompt =
      &registry.Counter("seekd_prompt_tokens_total", "Prompt tokens processed", {"model"});
  obs::Family* cached = &registry.Counter("seekd_cached_prompt_tokens_total",
                                          "Prompt tokens served from the prefix cache", {"model"});
  obs::Family* generated =
      &registry.Counter("seekd_generation_tokens_total", "Tokens generated", {"model"});
  obs::Family* preempt =
      &registry.Counter("seekd_num_preemptions_total",
                        "Sequences preempted (blocks freed, recomputed later)", {"model"});
  obs::Family* cpu =
      &registry.Counter("process_cpu_seconds_total", "User and system CPU time spent, seconds");
  obs::Family* rss = &registry.Gauge("process_resident_memory_bytes", "Resident memory, bytes");
  obs::Family* fds = &registry.Gauge("process_open_fds", "Open file descriptors");
  obs::Family* start =
      &registry.Gauge("process_start_time_seconds", "Start time since the Unix epoch, seconds");
  obs::Family* conns = &registry.Gauge("seekd_open_connections", "Open HTTP connections");
  obs::Family* acc_util =
      &registry.Gauge("seekd_accelerator_utilization_ratio",
                      "Accelerator busy share over the driver's last sample", {"device"});
  obs::Family* acc_used = &registry.Gauge("seekd_accelerator_memory_used_bytes",
                                          "Accelerator memory in use, bytes", {"device"});
  obs::Family* acc_total = &registry.Gauge("seekd_accelerator_memory_total_bytes",
                                           "Accelerator memory, bytes", {"device"});
  registry.AddCollector([=, this] {
    for (const auto& m : models->List()) {
      const engine::EngineStats st = m->engine->stats();
      const std::vector<std::string> l = {m->name};
      running->Set(l, st.running);
      waiting->Set(l, st.waiting);
      const int free_blocks = st.kv_blocks_total - st.kv_blocks_used - st.kv_blocks_cached;
      blocks->Set({m->name, "used"}, st.kv_blocks_used);
      blocks->Set({m->name, "cached"}, st.kv_blocks_cached);
      blocks->Set({m->name, "free"}, free_blocks);
      usage->Set(l, st.kv_blocks_total ? static_cast<double>(st.kv_blocks_used) / st.kv_blocks_total
                                       : 0.0);
      unused->Set(l, st.kv_slots_held ? static_cast<double>(st.kv_slots_unfilled) /
                                            static_cast<double>(st.kv_slots_held)
                                      : 0.0);
      queries->Set(l, static_cast<double>(st.prompt_tokens));
      hits->Set(l, static_cast<double>(st.cached_prompt_tokens));
      prompt->Set(l, static_cast<double>(st.prompt_tokens));
      cached->Set(l, static_cast<double>(st.cached_prompt_tokens));
      generated->Set(l, static_cast<double>(st.generated_tokens));
      preempt->Set(l, static_cast<double>(st.preemptions));
    }
    const obs::ProcessStats p = obs::ReadProcessStats();
    cpu->Set({}, p.cpu_seconds);
    rss->Set({}, p.resident_bytes);
    fds->Set({}, p.open_fds);
    start->Set({}, p.start_time_seconds);
    conns->Set({}, open_connections.load());
    for (const auto& a : obs::ReadAccelerators()) {
      acc_util->Set({a.index}, a.utilization_ratio);
      acc_used->Set({a.index}, a.memory_used_bytes);
      acc_total->Set({a.index}, a.memory_total_bytes);
    }
  });
}

void ServerMetrics::OnStep(const std::string& model, int32_t tokens, int32_t seqs) {
  step_tokens.Observe({model}, tokens);
  step_seqs.Observe({model}, seqs);
}

}  // namespace seekd::server
