#include "api/errors.h"

namespace seekd::api {

nlohmann::ordered_json ApiError::ToJson() const {
  nlohmann::ordered_json e;
  e["message"] = message;
  e["type"] = type;
  e["param"] = param.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(param);
  e["code"] = code.empty() ? nlohmann::ordered_json() : nlohmann::ordered_json(code);
  return {{"error", e}};
}

ApiError Malformed(std::string message) {
  return {400, "invalid_request_error", std::move(message), "", "invalid_request"};
}
ApiError InvalidParam(std::string param, std::string message) {
  return {422, "invalid_request_error", std::move(message), std::move(param), "invalid_parameter"};
}
ApiError Unauthorized(std::string message) {
  return {401, "authentication_error", std::move(message), "", "invalid_api_key"};
}
ApiError ModelNotFound(const std::string& model) {
  return {404, "invalid_request_error", "The model `" + model + "` does not exist on this server",
          "model", "model_not_found"};
}
ApiError RouteNotFound(const std::string& method, const std::string& path) {
  return {404, "invalid_request_error", "No route for " + method + " " + path, "", "not_found"};
}
ApiError BodyTooLarge(uint64_t limit) {
  return {413, "invalid_request_error",
          "The request body is larger than the limit of " + std::to_string(limit) + " bytes", "",
          "request_too_large"};
}
ApiError InsufficientQuota(std::string message) {
  return {402, "insufficient_quota", std::move(message), "", "insufficient_quota"};
}
ApiError RateLimited(std::string message) {
  return {429, "rate_limit_error", std::move(message), "", "rate_limit_exceeded"};
}
ApiError Overloaded(std::string message) {
  return {503, "server_overloaded", std::move(message), "", "overloaded"};
}
ApiError ServerError(std::string message) {
  return {500, "server_error", std::move(message), "", "internal_error"};
}

ApiError FromStatus(const Status& s, std::string param) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
      return InvalidParam(std::move(param), s.message());
    case StatusCode::kOutOfRange:
      return {400, "invalid_request_error", s.message(), std::move(param),
              "context_length_exceeded"};
    case StatusCode::kUnavailable:
      return Overloaded(s.message());
    case StatusCode::kNotFound:
      return {404, "invalid_request_error", s.message(), std::move(param), "not_found"};
    case StatusCode::kUnsupported:
      return InvalidParam(std::move(param), s.message());
    default:
      return ServerError(s.message());
  }
}

}  // namespace seekd::api
