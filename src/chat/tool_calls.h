// Tool calls in a model's streamed output, parsed into OpenAI's tool_calls. The formats:
//
//   DeepSeek-V3 / R1:  <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME
//                      ```json\nARGS\n```<｜tool▁call▁end｜>…<｜tool▁calls▁end｜>
//   DeepSeek-V3.1:     <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>NAME<｜tool▁sep｜>ARGS
//                      <｜tool▁call▁end｜>…<｜tool▁calls▁end｜>
//   Qwen2.5 (ChatML):  <tool_call>\n{"name": NAME, "arguments": {...}}\n</tool_call>
//
// Text outside calls is content. A marker split across pieces is held back until it is known,
// so content never shows part of one. DeepSeek arguments stream as they arrive; a Qwen call is
// reported whole when its closing tag arrives (its arguments sit inside a JSON object).
//
// Thread-safety: one per stream.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/chat_template.h"

namespace seekd::chat {

enum class ToolFormat { kNone, kDeepSeekV3, kDeepSeekV31, kQwen };

// The format a template's model writes (kNone for templates without tools).
ToolFormat ToolFormatFor(TemplateId id);

struct ToolCallDelta {
  int index = 0;          // the call's position in the message
  std::string name;       // set on a call's first delta only
  std::string arguments;  // the next piece of the arguments' JSON text
};

class ToolCallParser {
 public:
  explicit ToolCallParser(ToolFormat format) : format_(format) {}

  void Push(std::string_view text, std::string* content, std::vector<ToolCallDelta>* calls);
  // End of stream: what was held back, as content or arguments.
  void Flush(std::string* content, std::vector<ToolCallDelta>* calls);
  int n_calls() const { return n_calls_; }

 private:
  enum State { kContent, kInCalls, kHeader, kName, kFence, kArgs, kQwenBody };
  void Run(bool final, std::string* content, std::vector<ToolCallDelta>* calls);
  void StartCall(std::string name, std::vector<ToolCallDelta>* calls);

  ToolFormat format_;
  State state_ = kContent;
  std::string buf_;
  int n_calls_ = 0;
};

}  // namespace seekd::chat
