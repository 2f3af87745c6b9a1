// Reassembles a streamed chat completion from its chunks, as a client reads them: content,
// reasoning_content and tool calls (merged by index, arguments concatenated) per choice, the
// finish reasons, usage, and an error event when the server sends one. Text-completion chunks
// (`choices[].text`) assemble the same way, their text as content.
//
// Thread-safety: one per stream.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/errors.h"

namespace seekd::api {

struct ToolCall {
  std::string id, name, arguments;
};

struct StreamedChoice {
  std::string role, content, reasoning_content, finish_reason;
  std::vector<ToolCall> tool_calls;
};

class ChatStreamAccumulator {
 public:
  // What one chunk added (to show as it arrives).
  struct Delta {
    int index = 0;
    std::string content, reasoning_content;
    bool tool_calls = false;  // the chunk touched tool calls
    std::string finish_reason;
  };
  // One SSE data payload. "[DONE]" ends the stream. A payload that is not a chunk or an error
  // object is reported as a malformed-stream error and otherwise ignored.
  std::vector<Delta> Add(std::string_view data);

  bool done() const { return done_; }
  const std::vector<StreamedChoice>& choices() const { return choices_; }
  const std::optional<nlohmann::json>& usage() const { return usage_; }
  const std::optional<ApiError>& error() const { return error_; }
  const std::string& id() const { return id_; }
  const std::string& model() const { return model_; }

 private:
  std::vector<StreamedChoice> choices_;
  std::optional<nlohmann::json> usage_;
  std::optional<ApiError> error_;
  std::string id_, model_;
  bool done_ = false;
};

}  // namespace seekd::api
