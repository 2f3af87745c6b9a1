// The server's Prometheus metrics (names `seekd_…`, units in the name, labels model / endpoint
// / status class only). docs/design/observability.md maps them to vLLM's names.
//
// Thread-safety: all members are thread-safe.
#pragma once

#include <atomic>
#include <string>

#include "obs/metrics.h"
#include "server/models.h"

namespace seekd::server {

struct ServerMetrics {
  explicit ServerMetrics(const ModelRegistry* models);

  obs::Registry registry;
  obs::Family& requests;              // seekd_requests_total{model,endpoint,status}
  obs::Family& e2e;                   // seekd_e2e_request_latency_seconds{model,endpoint}
  obs::Family& ttft;                  // seekd_time_to_first_token_seconds{model}
  obs::Family& tpot;                  // seekd_time_per_output_token_seconds{model}
  obs::Family& queue;                 // seekd_request_queue_time_seconds{model}
  obs::Family& prefill;               // seekd_request_prefill_time_seconds{model}
  obs::Family& step_tokens;           // seekd_iteration_tokens{model}
  obs::Family& step_seqs;             // seekd_iteration_sequences{model}
  obs::Family& auth_failures;         // seekd_auth_failures_total{reason}
  obs::Family& rate_limited;          // seekd_rate_limit_rejections_total
  obs::Family& quota_rejections;      // seekd_quota_rejections_total
  obs::Family& admission_rejections;  // seekd_admission_rejections_total{model}
  std::atomic<int> open_connections{0};

  // For ModelRegistry::SetStepObserver.
  void OnStep(const std::string& model, int32_t tokens, int32_t seqs);
};

}  // namespace seekd::server
