// The C++ client for OpenAI/DeepSeek-compatible servers (seekd, the DeepSeek API, vLLM, …),
// on libcurl's multi interface: one I/O thread per Client drives every transfer, connections
// are kept and reused across calls (HTTP/2, multiplexed, where the server offers it over
// TLS), and every call follows the retry rules in retry.h — with one Idempotency-Key reused
// across a call's attempts, and no retry once a stream has delivered its first byte.
//
// Three ways to call: blocking (Chat, ChatStream, Completion, …), asynchronous (…Async: a
// std::future, or a callback), and a stream reader to pull deltas from (OpenChatStream). At
// most `max_concurrency` calls are in flight per client (waits between attempts included);
// later calls queue in order. ChatBatch runs a group of requests under a bound of its own.
//
// Credentials: an API key (Bearer), an AK/SK pair (every attempt signed afresh with a new
// nonce and timestamp), or a JWT secret (HS256 tokens minted here and renewed before they
// expire) — security/, the same code seekd's server verifies with.
//
// Thread-safety: a Client may be used from several threads. Callbacks (on_delta, on_event,
// done) run on the client's I/O thread: they must not block, and must not make blocking calls
// on the same client (those return an error instead of deadlocking).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_stream.h"
#include "api/completions.h"
#include "api/errors.h"
#include "api/requests.h"
#include "api/sse.h"
#include "client/retry.h"
#include "security/jwt.h"

namespace seekd::client {

struct ClientOptions {
  std::string base_url = "http://127.0.0.1:8080/v1";  // a trailing slash is dropped
  // Credentials; the first that is set is used: AK/SK, then the JWT secret, then the API key.
  std::string api_key;                 // Authorization: Bearer KEY
  std::string access_key, secret_key;  // SEEKD1-HMAC-SHA256 request signatures
  std::string jwt_secret;              // HS256 bearer tokens minted from jwt_claims
  security::JwtClaims jwt_claims;
  RetryPolicy retry;
  double connect_timeout_s = 5;
  double attempt_timeout_s = 600;  // one attempt, whole response
  double total_timeout_s = 0;      // all attempts and waits together; 0 = none
  int max_concurrency = 64;        // calls in flight; more wait in a queue
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

using JsonResult = api::ApiResult<nlohmann::json>;
using CompletionResult = api::ApiResult<api::ChatCompletion>;
using StreamResult = api::ApiResult<api::ChatStreamAccumulator>;
using DeltaFn = std::function<void(const api::ChatStreamAccumulator::Delta&)>;
using EventFn = std::function<bool(const api::SseEvent&)>;  // false: stop reading

class ChatStreamReader;

class Client {
 public:
  explicit Client(ClientOptions options);
  // Waits for nothing: calls still running end with a connection error ("client closed").
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Raw calls. `path` is relative to base_url ("/chat/completions").
  Response PostJson(std::string_view path, const nlohmann::json& body);
  Response Get(std::string_view path);
  // POST with an SSE response; on_event sees each event as it arrives. Retried only until the
  // first byte.
  Response PostStream(std::string_view path, const nlohmann::json& body, const EventFn& on_event);
  void PostJsonAsync(std::string_view path, const nlohmann::json& body,
                     std::function<void(Response)> done);
  void PostStreamAsync(std::string_view path, const nlohmann::json& body, EventFn on_event,
                       std::function<void(Response)> done);

  // Typed calls: POST /chat/completions and /completions. `stream` is set for you. Errors come
  // back in the API's shape (transport failures as status 0, code "connection_error").
  JsonResult Chat(nlohmann::json request);
  JsonResult Completion(nlohmann::json request);
  StreamResult ChatStream(nlohmann::json request, const DeltaFn& on_delta = nullptr);
  StreamResult CompletionStream(nlohmann::json request, const DeltaFn& on_delta = nullptr);

  // Typed calls: requests as the server's own types (api/requests.h), responses parsed into
  // api::ChatCompletion (streams assembled into the same shape).
  CompletionResult CreateChat(const api::ChatRequest& request);
  CompletionResult CreateCompletion(const api::CompletionRequest& request);
  CompletionResult CreateChatStream(const api::ChatRequest& request,
                                    const DeltaFn& on_delta = nullptr);
  std::future<CompletionResult> CreateChatAsync(const api::ChatRequest& request);

  std::future<JsonResult> ChatAsync(nlohmann::json request);
  void ChatAsync(nlohmann::json request, std::function<void(JsonResult)> done);
  std::future<StreamResult> ChatStreamAsync(nlohmann::json request, DeltaFn on_delta = nullptr);

  // Pull-style streaming: the reader yields deltas as they arrive (reading pauses while the
  // reader's buffer is full, so a slow consumer holds the connection, not memory).
  std::unique_ptr<ChatStreamReader> OpenChatStream(nlohmann::json request);

  // Every request in order, with at most `max_concurrency` of them in flight (0: the client's
  // own bound); results in request order. Blocks until all are done.
  std::vector<JsonResult> ChatBatch(const std::vector<nlohmann::json>& requests,
                                    int max_concurrency = 0);

  // The API error a non-2xx response carries (its `error` object, or a generic one).
  static api::ApiError ErrorOf(const Response& r);

  struct Impl;

 private:
  Response Wait(const std::function<void(std::function<void(Response)>)>& start);
  std::shared_ptr<Impl> impl_;
};

// One streamed chat completion, read by pulling. Not thread-safe: one reader thread.
class ChatStreamReader {
 public:
  ~ChatStreamReader();  // cancels the stream when it is still running
  // Blocks for the next delta; nullopt once the stream has ended (see result()).
  std::optional<api::ChatStreamAccumulator::Delta> Next();
  // Blocks until the stream ends and returns how: the assembled stream, or the error.
  const StreamResult& result();
  // Stops reading and closes the connection; Next() then returns nullopt.
  void Cancel();

  struct State;
  explicit ChatStreamReader(std::shared_ptr<State> state);

 private:
  std::shared_ptr<State> state_;
};

}  // namespace seekd::client
