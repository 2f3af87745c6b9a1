// One chat or text completion call, from validated request to the response's bytes, without
// any networking: it renders the prompt, submits one engine request per choice, and turns the
// engine's events into OpenAI/DeepSeek JSON (a whole body, or SSE chunks as they come).
//
// Engine threads push events into the job's queue and call `notify`; the connection calls
// Poll() on its own executor. A job cancels whatever still runs when it is destroyed.
//
// Thread-safety: Poll/Cancel/accessors from one thread (the connection's); notify may be
// called on engine threads, and may outlive the job.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/requests.h"
#include "server/models.h"

namespace seekd::server {

class Job {
 public:
  static api::ApiResult<std::unique_ptr<Job>> StartChat(const std::shared_ptr<ModelEntry>& model,
                                                        const api::ChatRequest& req,
                                                        std::function<void()> notify);
  static api::ApiResult<std::unique_ptr<Job>> StartCompletion(
      const std::shared_ptr<ModelEntry>& model, const api::CompletionRequest& req,
      std::function<void()> notify);
  ~Job();

  bool stream() const;
  // Handles the events that arrived. Stream: returns the SSE text to send now (ending with
  // `data: [DONE]` once done). Non-stream: returns "".
  std::string Poll();
  bool done() const;
  // Non-stream, once done: the JSON body.
  std::string Body() const;
  // Stops every choice still running (client gone, timeout, shutdown).
  void Cancel();
  // What the call cost and how long it took (choice 0's timings; tokens over all choices).
  struct Summary {
    std::string model, finish_reason;
    int64_t prompt_tokens = 0, cached_tokens = 0, completion_tokens = 0;
    double queue_s = 0, prefill_s = 0, ttft_s = -1, total_s = 0;
    int64_t first_completion_tokens = 0;  // choice 0's, for the time per output token
    bool error = false;
  };
  Summary summary() const;
  // Stream: an SSE error event followed by [DONE], for a generation cut short by the server.
  std::string StreamError(const api::ApiError& e) const;

  struct Impl;

 private:
  explicit Job(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Builds the prompt a chat request renders to (exposed for /tokenize with messages).
api::ApiResult<std::string> RenderChatPrompt(const ModelEntry& model, const api::ChatRequest& req,
                                             bool* opens_reasoning);

}  // namespace seekd::server
