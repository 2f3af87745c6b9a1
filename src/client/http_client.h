// The C++ client for OpenAI/DeepSeek-compatible servers (seekd, the DeepSeek API, vLLM, …),
// on libcurl: connections are kept and reused across calls, HTTP/2 is used where the server
// offers it, and every call follows the retry rules in retry.h — with one Idempotency-Key
// reused across a call's attempts, and no retry once a stream has delivered its first byte.
//
// Thread-safety: a Client may be used from several threads; each call takes a connection
// handle from the client's pool.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "api/chat_stream.h"
#include "api/errors.h"
#include "api/requests.h"
#include "api/sse.h"
#include "client/retry.h"

namespace seekd::client {

struct ClientOptions {
  std::string base_url = "http://127.0.0.1:8080/v1";  // without a trailing slash
  std::string api_key;                                // sent as Authorization: Bearer
  RetryPolicy retry;
  double connect_timeout_s = 10;
  double attempt_timeout_s = 600;  // one attempt, whole response
  double total_timeout_s = 0;      // all attempts and waits together; 0 = none
  std::string user_agent = "seekd-client/0.1";
};

// One call's outcome. status 0: no response (connection error or timeout; see error).
struct Response {
  int status = 0;
  Headers headers;
  std::string body;
  std::string error;  // transport error text, "" when a response arrived
  int attempts = 0;
  bool stream_started = false;
};

class Client {
 public:
  explicit Client(ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // POST `path` (relative to base_url) with a JSON body; retried per the policy.
  Response PostJson(std::string_view path, const nlohmann::json& body);
  // GET `path`; retried per the policy.
  Response Get(std::string_view path);
  // POST with stream: true; on_event gets each SSE event as it arrives (return false to stop
  // reading: the connection is closed). Retried only until the first byte.
  Response PostStream(std::string_view path, const nlohmann::json& body,
                      const std::function<bool(const api::SseEvent&)>& on_event);

  // Typed chat calls. Errors come back in the API's shape (transport failures as status 0).
  api::ApiResult<nlohmann::json> Chat(nlohmann::json request);
  // Streams a chat completion; on_delta sees each piece; returns the assembled stream.
  api::ApiResult<api::ChatStreamAccumulator> ChatStream(
      nlohmann::json request,
      const std::function<void(const api::ChatStreamAccumulator::Delta&)>& on_delta);

  // The API error a non-2xx response carries (its `error` object, or a generic one).
  static api::ApiError ErrorOf(const Response& r);

 private:
  struct Impl;
  Response Call(const char* method, std::string_view path, const std::string* body,
                const std::function<bool(const api::SseEvent&)>* on_event);
  std::unique_ptr<Impl> impl_;
};

}  // namespace seekd::client
