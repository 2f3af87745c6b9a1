#include "api/completions.h"

namespace seekd::api {

namespace {

using ojson = nlohmann::ordered_json;
using json = nlohmann::json;

void PutGeneration(const GenerationFields& g, bool chat, ojson* j) {
  ojson& o = *j;
  o["model"] = g.model;
  if (g.max_tokens) o["max_tokens"] = *g.max_tokens;
  if (g.temperature) o["temperature"] = *g.temperature;
  if (g.top_p) o["top_p"] = *g.top_p;
  if (g.min_p) o["min_p"] = *g.min_p;
  if (g.top_k) o["top_k"] = *g.top_k;
  if (g.frequency_penalty) o["frequency_penalty"] = *g.frequency_penalty;
  if (g.presence_penalty) o["presence_penalty"] = *g.presence_penalty;
  if (g.repetition_penalty) o["repetition_penalty"] = *g.repetition_penalty;
  if (g.seed) o["seed"] = *g.seed;
  if (!g.logit_bias.empty()) {
    ojson lb = ojson::object();
    for (const auto& [id, bias] : g.logit_bias) lb[std::to_string(id)] = bias;
    o["logit_bias"] = lb;
  }
  if (!g.stop.empty()) o["stop"] = g.stop;
  if (g.n != 1) o["n"] = g.n;
  o["stream"] = g.stream;
  if (g.stream && g.include_usage) o["stream_options"] = {{"include_usage", true}};
  if (g.logprobs >= 0) {
    if (chat) {
      o["logprobs"] = true;
      o["top_logprobs"] = g.logprobs;
    } else {
      o["logprobs"] = g.logprobs;
    }
  }
  if (!g.user.empty()) o["user"] = g.user;
  if (g.ignore_eos) o["ignore_eos"] = true;
}

std::string Str(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t Int(const json& j, const char* k) {
  auto it = j.find(k);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

ojson ToJson(const ChatRequest& r) {
  ojson o = ojson::object();
  PutGeneration(r.gen, /*chat=*/true, &o);
  o["messages"] = r.messages;
  if (r.response_format == ResponseFormat::kJsonObject) {
    o["response_format"] = {{"type", "json_object"}};
  } else if (r.response_format == ResponseFormat::kJsonSchema) {
    o["response_format"] = {{"type", "json_schema"},
                            {"json_schema", {{"name", "response"}, {"schema", r.json_schema}}}};
  }
  if (r.tools) o["tools"] = *r.tools;
  if (!r.tool_choice.is_null() && r.tool_choice != "auto") o["tool_choice"] = r.tool_choice;
  if (r.thinking) o["chat_template_kwargs"] = {{"thinking", true}};
  return o;
}

ojson ToJson(const CompletionRequest& r) {
  ojson o = ojson::object();
  PutGeneration(r.gen, /*chat=*/false, &o);
  auto one = [](const std::variant<std::string, std::vector<int32_t>>& p) -> ojson {
    if (const auto* s = std::get_if<std::string>(&p)) return *s;
    return std::get<std::vector<int32_t>>(p);
  };
  if (r.prompts.size() == 1) {
    o["prompt"] = one(r.prompts[0]);
  } else {
    ojson all = ojson::array();
    for (const auto& p : r.prompts) all.push_back(one(p));
    o["prompt"] = all;
  }
  if (r.suffix) o["suffix"] = *r.suffix;
  if (r.echo) o["echo"] = true;
  return o;
}

Usage ParseUsage(const json& u) {
  Usage out;
  if (!u.is_object()) return out;
  out.prompt_tokens = Int(u, "prompt_tokens");
  out.completion_tokens = Int(u, "completion_tokens");
  out.cached_tokens = Int(u, "prompt_cache_hit_tokens");
  if (auto d = u.find("prompt_tokens_details"); d != u.end() && d->is_object())
    if (const int64_t c = Int(*d, "cached_tokens"); c > 0) out.cached_tokens = c;
  if (auto d = u.find("completion_tokens_details"); d != u.end() && d->is_object())
    out.reasoning_tokens = Int(*d, "reasoning_tokens");
  return out;
}

ApiResult<ChatCompletion> ParseChatCompletion(const json& j) {
  auto malformed = [](const std::string& m) {
    return ApiError{200, "invalid_response", m, "", "malformed_response"};
  };
  if (!j.is_object()) return malformed("The response is not a JSON object");
  if (auto e = j.find("error"); e != j.end() && e->is_object())
    return ApiError{0, Str(*e, "type"), Str(*e, "message"), Str(*e, "param"), Str(*e, "code")};
  auto chs = j.find("choices");
  if (chs == j.end() || !chs->is_array()) return malformed("The response has no choices list");
  ChatCompletion c;
  c.id = Str(j, "id");
  c.object = Str(j, "object");
  c.model = Str(j, "model");
  c.system_fingerprint = Str(j, "system_fingerprint");
  c.created = Int(j, "created");
  for (const auto& ch : *chs) {
    if (!ch.is_object()) return malformed("A choice is not an object");
    const int64_t idx =
        ch.contains("index") ? Int(ch, "index") : static_cast<int64_t>(c.choices.size());
    if (idx < 0 || idx > 1024) return malformed("A choice index is out of range");
    const auto i = static_cast<size_t>(idx);
    if (c.choices.size() <= i) {
      c.choices.resize(i + 1);
      c.logprobs.resize(i + 1);
    }
    StreamedChoice& out = c.choices[i];
    out.finish_reason = Str(ch, "finish_reason");
    if (auto m = ch.find("message"); m != ch.end() && m->is_object()) {
      out.role = Str(*m, "role");
      out.content = Str(*m, "content");
      out.reasoning_content = Str(*m, "reasoning_content");
      if (auto tcs = m->find("tool_calls"); tcs != m->end() && tcs->is_array())
        for (const auto& tc : *tcs) {
          if (!tc.is_object()) continue;
          ToolCall call;
          call.id = Str(tc, "id");
          if (auto f = tc.find("function"); f != tc.end() && f->is_object()) {
            call.name = Str(*f, "name");
            call.arguments = Str(*f, "arguments");
          }
          out.tool_calls.push_back(std::move(call));
        }
    } else {
      out.content = Str(ch, "text");
    }
    if (auto lp = ch.find("logprobs"); lp != ch.end()) c.logprobs[i] = *lp;
  }
  if (auto u = j.find("usage"); u != j.end() && u->is_object()) {
    c.usage = ParseUsage(*u);
    c.prompt_cache_hit_tokens = Int(*u, "prompt_cache_hit_tokens");
    c.prompt_cache_miss_tokens = Int(*u, "prompt_cache_miss_tokens");
  }
  return c;
}

ChatCompletion FromStream(const ChatStreamAccumulator& acc) {
  ChatCompletion c;
  c.id = acc.id();
  c.model = acc.model();
  c.object = "chat.completion";
  c.choices = acc.choices();
  c.logprobs.resize(c.choices.size());
  if (acc.usage()) {
    c.usage = ParseUsage(*acc.usage());
    c.prompt_cache_hit_tokens = Int(*acc.usage(), "prompt_cache_hit_tokens");
    c.prompt_cache_miss_tokens = Int(*acc.usage(), "prompt_cache_miss_tokens");
  }
  return c;
}

}  // namespace seekd::api
