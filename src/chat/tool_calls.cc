#include "chat/tool_calls.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace seekd::chat {

namespace {

constexpr std::string_view kCallsBegin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view kCallsEnd = "<｜tool▁calls▁end｜>";
constexpr std::string_view kCallBegin = "<｜tool▁call▁begin｜>";
constexpr std::string_view kCallEnd = "<｜tool▁call▁end｜>";
constexpr std::string_view kSep = "<｜tool▁sep｜>";
constexpr std::string_view kQwenBegin = "<tool_call>";
constexpr std::string_view kQwenEnd = "</tool_call>";

bool IsSpace(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Length of the longest suffix of s that is a proper prefix of m.
size_t PartialSuffix(std::string_view s, std::string_view m) {
  for (size_t n = std::min(s.size(), m.size() - 1); n > 0; --n)
    if (s.substr(s.size() - n) == m.substr(0, n)) return n;
  return 0;
}

}  // namespace

ToolFormat ToolFormatFor(TemplateId id) {
  switch (id) {
    case TemplateId::kDeepSeekV3:
    case TemplateId::kR1DistillQwen:
    case TemplateId::kR1DistillLlama:
      return ToolFormat::kDeepSeekV3;
    case TemplateId::kDeepSeekV31:
      return ToolFormat::kDeepSeekV31;
    case TemplateId::kQwen25:
      return ToolFormat::kQwen;
    default:
      return ToolFormat::kNone;
  }
}

void ToolCallParser::StartCall(std::string name, std::vector<ToolCallDelta>* calls) {
  ToolCallDelta d;
  d.index = n_calls_++;
  d.name = std::move(name);
  calls->push_back(std::move(d));
}

void ToolCallParser::Push(std::string_view text, std::string* content,
                          std::vector<ToolCallDelta>* calls) {
  buf_.append(text);
  Run(false, content, calls);
}

void ToolCallParser::Flush(std::string* content, std::vector<ToolCallDelta>* calls) {
  Run(true, content, calls);
}

void ToolCallParser::Run(bool final, std::string* content, std::vector<ToolCallDelta>* calls) {
  if (format_ == ToolFormat::kNone) {
    content->append(buf_);
    buf_.clear();
    return;
  }
  const bool deepseek = format_ != ToolFormat::kQwen;
  for (;;) {
    std::string_view b = buf_;
    switch (state_) {
      case kContent: {
        size_t at = std::string_view::npos, len = 0;
        State next = kContent;
        auto consider = [&](std::string_view m, State s) {
          const size_t p = b.find(m);
          if (p < at) {
            at = p;
            len = m.size();
            next = s;
          }
        };
        if (deepseek) {
          consider(kCallsBegin, kInCalls);
          consider(kCallBegin, kHeader);
        } else {
          consider(kQwenBegin, kQwenBody);
        }
        if (at != std::string_view::npos) {
          content->append(b.substr(0, at));
          buf_.erase(0, at + len);
          state_ = next;
          continue;
        }
        size_t keep = 0;
        if (!final) {
          if (deepseek) {
            keep = std::max(PartialSuffix(b, kCallsBegin), PartialSuffix(b, kCallBegin));
          } else {
            keep = PartialSuffix(b, kQwenBegin);
          }
        }
        content->append(b.substr(0, b.size() - keep));
        buf_.erase(0, b.size() - keep);
        return;
      }
      case kInCalls: {
        size_t i = 0;
        while (i < b.size() && IsSpace(b[i])) ++i;
        b.remove_prefix(i);
        if (b.substr(0, kCallBegin.size()) == kCallBegin) {
          buf_.erase(0, i + kCallBegin.size());
          state_ = kHeader;
          continue;
        }
        if (b.substr(0, kCallsEnd.size()) == kCallsEnd) {
          buf_.erase(0, i + kCallsEnd.size());
          state_ = kContent;
          continue;
        }
        if (!final && (kCallBegin.substr(0, b.size()) == b || kCallsEnd.substr(0, b.size()) == b))
          return;  // a marker still arriving (or nothing yet)
        buf_.erase(0, i);
        state_ = kContent;  // not a call after all: back to plain text
        if (final && buf_.empty()) return;
        continue;
      }
      case kHeader: {
        const size_t p = b.find(kSep);
        if (p == std::string_view::npos) {
          if (!final) return;
          content->append(buf_);
          buf_.clear();
          state_ = kContent;
          return;
        }
        const std::string header(Trim(b.substr(0, p)));
        buf_.erase(0, p + kSep.size());
        if (format_ == ToolFormat::kDeepSeekV31) {
          StartCall(header, calls);
          state_ = kArgs;
        } else {
          state_ = kName;  // V3: the header is the type ("function"); the name follows
        }
        continue;
      }
      case kName: {
        const size_t p = b.find('\n');
        if (p == std::string_view::npos && !final) {
          // The name may also end right at the arguments' end marker.
          if (b.find(kCallEnd) == std::string_view::npos) return;
        }
        const size_t end = std::min({p, b.find(kCallEnd), b.size()});
        StartCall(std::string(Trim(b.substr(0, end))), calls);
        buf_.erase(0, end == p ? p + 1 : end);
        state_ = kFence;
        continue;
      }
      case kFence: {
        for (std::string_view fence : {std::string_view("```json\n"), std::string_view("```\n")}) {
          if (b.substr(0, fence.size()) == fence) {
            buf_.erase(0, fence.size());
            state_ = kArgs;
            break;
          }
        }
        if (state_ == kArgs) continue;
        if (!final && (std::string_view("```json\n").substr(0, b.size()) == b)) return;
        state_ = kArgs;  // arguments without a fence
        continue;
      }
      case kArgs: {
        const size_t p = b.find(kCallEnd);
        const bool complete = p != std::string_view::npos || final;
        const std::string_view piece = p != std::string_view::npos ? b.substr(0, p) : b;
        // Trailing blank space and backticks are (or may become) the closing fence, and a
        // suffix may be the start of the end marker: hold them until the next piece decides.
        std::string_view emit =
            piece.substr(0, piece.size() - (complete ? 0 : PartialSuffix(piece, kCallEnd)));
        while (!emit.empty() && (IsSpace(emit.back()) || emit.back() == '`')) emit.remove_suffix(1);
        if (!emit.empty()) {
          ToolCallDelta d;
          d.index = n_calls_ - 1;
          d.arguments = std::string(emit);
          calls->push_back(std::move(d));
        }
        if (p != std::string_view::npos) {
          buf_.erase(0, p + kCallEnd.size());
          state_ = kInCalls;
          continue;
        }
        if (final) {
          buf_.clear();
          return;
        }
        buf_.erase(0, emit.size());
        return;
      }
      case kQwenBody: {
        const size_t p = b.find(kQwenEnd);
        if (p == std::string_view::npos && !final) return;
        const std::string_view body = Trim(b.substr(0, std::min(p, b.size())));
        const auto j = nlohmann::ordered_json::parse(body, nullptr, /*allow_exceptions=*/false);
        if (!j.is_discarded() && j.is_object() && j.contains("name") && j["name"].is_string()) {
          StartCall(j["name"].get<std::string>(), calls);
          const auto args =
              j.contains("arguments") ? j["arguments"] : nlohmann::ordered_json::object();
          calls->back().arguments =
              args.is_string()
                  ? args.get<std::string>()
                  : args.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        } else {
          // Not a call we can read: keep the text, nothing is lost.
          content->append(kQwenBegin);
          content->append(b.substr(0, std::min(p, b.size())));
          if (p != std::string_view::npos) content->append(kQwenEnd);
        }
        buf_.erase(0, p == std::string_view::npos ? b.size() : p + kQwenEnd.size());
        state_ = kContent;
        if (final && buf_.empty()) return;
        continue;
      }
    }
  }
}

}  // namespace seekd::chat
