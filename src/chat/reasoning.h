// Splits a reasoning model's streamed output into reasoning and answer: the text between
// <think> and </think> is reasoning (DeepSeek's `reasoning_content`), the rest is content.
// R1-style templates may already open <think> in the prompt, so the splitter can start inside
// it. A tag split across chunks is held back until it is complete, so every chunk can be shown
// as soon as it is known to be one or the other.
//
// Thread-safety: one per stream.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>

namespace seekd::chat {

class ReasoningSplitter {
 public:
  explicit ReasoningSplitter(bool starts_in_reasoning = false)
      : in_reasoning_(starts_in_reasoning), seen_content_(false) {}

  // Appends the parts of `text` that are now certain to *reasoning and *content.
  void Push(std::string_view text, std::string* reasoning, std::string* content);
  // End of stream: whatever is held back goes where it was heading.
  void Flush(std::string* reasoning, std::string* content);

  bool in_reasoning() const { return in_reasoning_; }

 private:
  bool in_reasoning_;
  bool seen_content_;  // an opening <think> only counts before any answer text
  std::string held_;
};

// Whether a rendered prompt ends inside an open <think> block (the model continues reasoning).
bool PromptOpensReasoning(std::string_view rendered_prompt);

}  // namespace seekd::chat
