// libFuzzer target: the parsers of streamed bytes — SSE framing and chat-chunk reassembly (what
// a client reads), tool calls in every format and the reasoning splitter (what the server
// reads from the model). The first byte picks where to split the rest; no result may depend
// on the split.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/chat_stream.h"
#include "api/sse.h"
#include "chat/reasoning.h"
#include "chat/tool_calls.h"

namespace {
using namespace seekd::chat;

std::string ToolRun(ToolFormat f, const std::vector<std::string_view>& pieces) {
  ToolCallParser p(f);
  std::string content;
  std::vector<ToolCallDelta> calls;
  for (auto piece : pieces) p.Push(piece, &content, &calls);
  p.Flush(&content, &calls);
  // Deltas may be cut differently; the calls they add up to may not.
  std::vector<std::pair<std::string, std::string>> merged;
  for (const auto& d : calls) {
    if (static_cast<size_t>(d.index) >= merged.size())
      merged.resize(static_cast<size_t>(d.index) + 1);
    merged[static_cast<size_t>(d.index)].first += d.name;
    merged[static_cast<size_t>(d.index)].second += d.arguments;
  }
  std::string out = content;
  for (const auto& [name, args] : merged) out += "\x01" + name + "\x02" + args;
  return out;
}

std::string SseRun(const std::vector<std::string_view>& pieces) {
  seekd::api::SseParser p;
  seekd::api::ChatStreamAccumulator acc;
  std::string out;
  for (auto piece : pieces)
    for (const auto& e : p.Feed(piece)) {
      out += e.event + "\x01" + e.data + "\x01" + e.id + "\x02";
      acc.Add(e.data);
    }
  for (const auto& c : acc.choices()) out += c.content + c.reasoning_content + c.finish_reason;
  return out;
}

std::string ReasonRun(bool start_inside, const std::vector<std::string_view>& pieces) {
  ReasoningSplitter s(start_inside);
  std::string r, c;
  for (auto piece : pieces) s.Push(piece, &r, &c);
  s.Flush(&r, &c);
  return r + "\x01" + c;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = text.empty() ? 0 : data[0] % (text.size() + 1);
  const std::vector<std::string_view> whole = {text};
  const std::vector<std::string_view> split = {text.substr(0, cut), text.substr(cut)};
  for (ToolFormat f :
       {ToolFormat::kNone, ToolFormat::kDeepSeekV3, ToolFormat::kDeepSeekV31, ToolFormat::kQwen})
    if (ToolRun(f, whole) != ToolRun(f, split)) __builtin_trap();
  if (SseRun(whole) != SseRun(split)) __builtin_trap();
  for (bool inside : {false, true})
    if (ReasonRun(inside, whole) != ReasonRun(inside, split)) __builtin_trap();
  return 0;
}
