#include "api/chat_stream.h"

namespace seekd::api {

namespace {
std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

std::vector<ChatStreamAccumulator::Delta> ChatStreamAccumulator::Add(std::string_view data) {
  std::vector<Delta> out;
  if (data == "[DONE]") {
    done_ = true;
    return out;
  }
  const auto j = nlohmann::json::parse(data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    error_ = ApiError{502, "invalid_response", "The stream carried a payload that is not JSON", "",
                      "malformed_stream"};
    return out;
  }
  if (auto e = j.find("error"); e != j.end() && e->is_object()) {
    error_ = ApiError{500, Str(*e, "type"), Str(*e, "message"), Str(*e, "param"), Str(*e, "code")};
    return out;
  }
  if (id_.empty()) id_ = Str(j, "id");
  if (model_.empty()) model_ = Str(j, "model");
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) usage_ = *u;
  auto chs = j.find("choices");
  if (chs == j.end() || !chs->is_array()) return out;
  for (const auto& ch : *chs) {
    if (!ch.is_object()) continue;
    const auto idx = ch.find("index");
    if (idx == ch.end() || !idx->is_number_integer() || idx->get<int64_t>() < 0 ||
        idx->get<int64_t>() > 1024)
      continue;
    const auto i = static_cast<size_t>(idx->get<int64_t>());
    if (choices_.size() <= i) choices_.resize(i + 1);
    StreamedChoice& c = choices_[i];
    Delta d;
    d.index = static_cast<int>(i);
    if (auto delta = ch.find("delta"); delta != ch.end() && delta->is_object()) {
      if (const std::string r = Str(*delta, "role"); !r.empty()) c.role = r;
      d.content = Str(*delta, "content");
      d.reasoning_content = Str(*delta, "reasoning_content");
      c.content += d.content;
      c.reasoning_content += d.reasoning_content;
      if (auto tcs = delta->find("tool_calls"); tcs != delta->end() && tcs->is_array()) {
        d.tool_calls = true;
        for (const auto& tc : *tcs) {
          if (!tc.is_object()) continue;
          const auto ti = tc.find("index");
          if (ti == tc.end() || !ti->is_number_integer() || ti->get<int64_t>() < 0 ||
              ti->get<int64_t>() > 1024)
            continue;
          const auto k = static_cast<size_t>(ti->get<int64_t>());
          if (c.tool_calls.size() <= k) c.tool_calls.resize(k + 1);
          ToolCall& call = c.tool_calls[k];
          if (const std::string id = Str(tc, "id"); !id.empty()) call.id = id;
          if (auto f = tc.find("function"); f != tc.end() && f->is_object()) {
            call.name += Str(*f, "name");
            call.arguments += Str(*f, "arguments");
          }
        }
      }
    } else if (auto text = ch.find("text"); text != ch.end() && text->is_string()) {
      d.content = text->get<std::string>();  // a text-completion chunk
      c.content += d.content;
    }
    if (auto fr = ch.find("finish_reason"); fr != ch.end() && fr->is_string()) {
      d.finish_reason = fr->get<std::string>();
      c.finish_reason = d.finish_reason;
    }
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace seekd::api
