// API errors in OpenAI's shape, {"error": {"message", "type", "param", "code"}}, with the HTTP
// status codes DeepSeek documents: 400 malformed, 401 auth, 402 quota, 404 unknown model or
// route, 413 body too large, 422 invalid parameter, 429 rate limited, 500 server error,
// 503 overloaded (the server adds Retry-After).
//
// Thread-safety: plain values.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/status.h"

namespace seekd::api {

struct ApiError {
  int status = 500;
  std::string type;     // invalid_request_error, authentication_error, ...
  std::string message;  // for a person
  std::string param;    // the offending field, "" when none
  std::string code;     // a stable machine-readable code, "" when none

  nlohmann::ordered_json ToJson() const;
  std::string Body() const { return ToJson().dump(); }
};

ApiError Malformed(std::string message);                                     // 400
ApiError InvalidParam(std::string param, std::string message);               // 422
ApiError Unauthorized(std::string message);                                  // 401
ApiError ModelNotFound(const std::string& model);                            // 404
ApiError RouteNotFound(const std::string& method, const std::string& path);  // 404
ApiError BodyTooLarge(uint64_t limit);                                       // 413
ApiError InsufficientQuota(std::string message);                             // 402
ApiError RateLimited(std::string message);                                   // 429
ApiError Overloaded(std::string message);                                    // 503
ApiError ServerError(std::string message);                                   // 500
// An engine or loader status as the API reports it: InvalidArgument → 422, OutOfRange → 400
// (context_length_exceeded), Unavailable → 503, NotFound → 404, anything else → 500.
ApiError FromStatus(const Status& s, std::string param = "");

}  // namespace seekd::api
