#include "chat/reasoning.h"

namespace seekd::chat {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

// Length of the longest suffix of s that is a proper prefix of tag.
size_t PartialTagSuffix(std::string_view s, std::string_view tag) {
  for (size_t n = std::min(s.size(), tag.size() - 1); n > 0; --n)
    if (s.substr(s.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

bool AllSpace(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return false;
  return true;
}

}  // namespace

void ReasoningSplitter::Push(std::string_view text, std::string* reasoning, std::string* content) {
  held_.append(text);
  for (;;) {
    if (in_reasoning_) {
      const size_t at = held_.find(kClose);
      if (at == std::string::npos) {
        const size_t keep = PartialTagSuffix(held_, kClose);
        reasoning->append(held_, 0, held_.size() - keep);
        held_.erase(0, held_.size() - keep);
        return;
      }
      reasoning->append(held_, 0, at);
      held_.erase(0, at + kClose.size());
      in_reasoning_ = false;
      seen_content_ = false;
      continue;
    }
    if (!seen_content_) {
      // Before the answer starts, a <think> (possibly after whitespace) opens reasoning.
      const size_t at = held_.find(kOpen);
      if (at != std::string::npos && AllSpace(std::string_view(held_).substr(0, at))) {
        held_.erase(0, at + kOpen.size());
        in_reasoning_ = true;
        continue;
      }
      if (AllSpace(held_)) return;  // still undecided: hold whitespace
      const size_t keep = PartialTagSuffix(held_, kOpen);
      if (keep > 0 && AllSpace(std::string_view(held_).substr(0, held_.size() - keep))) return;
      seen_content_ = true;
    }
    content->append(held_);
    held_.clear();
    return;
  }
}

void ReasoningSplitter::Flush(std::string* reasoning, std::string* content) {
  (in_reasoning_ ? reasoning : content)->append(held_);
  held_.clear();
}

bool PromptOpensReasoning(std::string_view p) {
  const size_t open = p.rfind(kOpen);
  if (open == std::string_view::npos) return false;
  const size_t close = p.rfind(kClose);
  return (close == std::string_view::npos || close < open) &&
         AllSpace(p.substr(open + kOpen.size()));
}

}  // namespace seekd::chat
