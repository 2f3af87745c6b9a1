// Structured logs: one JSON object per line on stderr (spdlog), with one line per API request
// carrying its id, key id (never a secret, never the prompt), model, tokens, cache hits, TTFT,
// total time and status.
//
// Thread-safety: all functions are thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "core/status.h"

namespace seekd::obs {

// level: trace | debug | info | warn | error | off.
Status InitLogging(const std::string& level);

struct RequestRecord {
  std::string request_id, key_id, method, path, endpoint, model;
  int status = 0;
  int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
  double ttft_s = -1, total_s = 0;  // ttft < 0: none (no tokens)
  std::string finish_reason, error;
};

void LogRequest(const RequestRecord& r);
void LogInfo(const std::string& message);
void LogWarn(const std::string& message);

}  // namespace seekd::obs
