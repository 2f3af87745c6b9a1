#include "obs/request_log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include <memory>
#include <mutex>

namespace seekd::obs {

namespace {

std::shared_ptr<spdlog::logger>& Logger() {
  static std::shared_ptr<spdlog::logger> l = [] {
    auto lg = spdlog::stderr_logger_mt("seekd");
    // Each message is the JSON fields after ts and level, already escaped.
    lg->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})",
                    spdlog::pattern_time_type::utc);
    lg->set_level(spdlog::level::info);
    lg->flush_on(spdlog::level::info);
    return lg;
  }();
  return l;
}

std::string Fields(const nlohmann::ordered_json& j) {
  std::string s = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return s.substr(1, s.size() - 2);  // without the braces: the pattern supplies them
}

}  // namespace

Status InitLogging(const std::string& level) {
  const auto l = spdlog::level::from_str(level);
  if (l == spdlog::level::off && level != "off")
    return InvalidArgument("--log-level must be trace, debug, info, warn, error or off");
  Logger()->set_level(l);
  return Status::Ok();
}

void LogRequest(const RequestRecord& r) {
  if (!Logger()->should_log(spdlog::level::info)) return;
  nlohmann::ordered_json j;
  j["msg"] = "request";
  j["request_id"] = r.request_id;
  if (!r.key_id.empty()) j["key_id"] = r.key_id;
  j["method"] = r.method;
  j["path"] = r.path;
  j["endpoint"] = r.endpoint;
  if (!r.model.empty()) j["model"] = r.model;
  j["status"] = r.status;
  if (r.prompt_tokens || r.completion_tokens) {
    j["prompt_tokens"] = r.prompt_tokens;
    j["cached_tokens"] = r.cached_tokens;
    j["completion_tokens"] = r.completion_tokens;
  }
  if (r.ttft_s >= 0) j["ttft_s"] = r.ttft_s;
  j["total_s"] = r.total_s;
  if (!r.finish_reason.empty()) j["finish_reason"] = r.finish_reason;
  if (!r.error.empty()) j["error"] = r.error;
  Logger()->info(Fields(j));
}

void LogInfo(const std::string& message) { Logger()->info(Fields({{"msg", message}})); }
void LogWarn(const std::string& message) { Logger()->warn(Fields({{"msg", message}})); }

}  // namespace seekd::obs
