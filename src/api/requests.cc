#include "api/requests.h"

#include <cmath>

namespace seekd::api {

namespace {

using json = nlohmann::ordered_json;

// Deepest nesting of arrays/objects, outside strings; stops counting at `limit`.
int Depth(std::string_view s, int limit) {
  int depth = 0, best = 0;
  bool in_str = false, esc = false;
  for (char c : s) {
    if (in_str) {
      if (esc) {
        esc = false;
      } else if (c == '\\') {
        esc = true;
      } else if (c == '"') {
        in_str = false;
      }
      continue;
    }
    if (c == '"') {
      in_str = true;
    } else if (c == '[' || c == '{') {
      best = std::max(best, ++depth);
      if (best > limit) return best;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return best;
}

// Reads optional typed fields, remembering the first error.
class Fields {
 public:
  explicit Fields(const json& j) : j_(j) {}
  const json* Get(const char* k) {
    auto it = j_.find(k);
    if (it == j_.end() || it->is_null()) return nullptr;
    return &*it;
  }
  void Fail(std::string param, std::string msg) {
    if (!err_) err_ = InvalidParam(std::move(param), std::move(msg));
  }
  std::optional<double> Number(const char* k, double lo, double hi) {
    const json* v = Get(k);
    if (!v) return std::nullopt;
    if (!v->is_number()) {
      Fail(k, std::string(k) + " must be a number");
      return std::nullopt;
    }
    const double d = v->get<double>();
    if (!std::isfinite(d) || d < lo || d > hi) {
      Fail(k,
           std::string(k) + " must be between " + Num(lo) + " and " + Num(hi) + ", got " + Num(d));
      return std::nullopt;
    }
    return d;
  }
  std::optional<int64_t> Int(const char* k, int64_t lo, int64_t hi) {
    const json* v = Get(k);
    if (!v) return std::nullopt;
    if (!v->is_number_integer()) {
      Fail(k, std::string(k) + " must be an integer");
      return std::nullopt;
    }
    const int64_t i =
        v->is_number_unsigned() && v->get<uint64_t>() > INT64_MAX ? INT64_MAX : v->get<int64_t>();
    if (i < lo || i > hi) {
      Fail(k, std::string(k) + " must be between " + std::to_string(lo) + " and " +
                  std::to_string(hi) + ", got " + std::to_string(i));
      return std::nullopt;
    }
    return i;
  }
  std::optional<bool> Bool(const char* k) {
    const json* v = Get(k);
    if (!v) return std::nullopt;
    if (!v->is_boolean()) {
      Fail(k, std::string(k) + " must be true or false");
      return std::nullopt;
    }
    return v->get<bool>();
  }
  std::optional<std::string> String(const char* k) {
    const json* v = Get(k);
    if (!v) return std::nullopt;
    if (!v->is_string()) {
      Fail(k, std::string(k) + " must be a string");
      return std::nullopt;
    }
    return v->get<std::string>();
  }
  std::optional<ApiError> err_;

 private:
  static std::string Num(double d) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", d);
    return buf;
  }
  const json& j_;
};

void ParseGeneration(Fields& f, const std::string& header_model, GenerationFields* g, bool chat) {
  if (auto m = f.String("model")) g->model = *m;
  if (g->model.empty()) g->model = header_model;
  g->max_tokens = f.Int("max_tokens", 1, INT32_MAX);
  if (auto m = f.Int("max_completion_tokens", 1, INT32_MAX)) g->max_tokens = m;
  g->temperature = f.Number("temperature", 0, 2);
  g->top_p = f.Number("top_p", 0, 1);
  g->min_p = f.Number("min_p", 0, 1);
  g->frequency_penalty = f.Number("frequency_penalty", -2, 2);
  g->presence_penalty = f.Number("presence_penalty", -2, 2);
  g->repetition_penalty = f.Number("repetition_penalty", 0.01, 10);
  g->top_k = f.Int("top_k", -1, INT32_MAX);
  if (g->top_k && *g->top_k < 0) g->top_k = 0;  // -1 means off, as in vLLM
  if (const json* s = f.Get("seed")) {
    if (!s->is_number_integer())
      f.Fail("seed", "seed must be an integer");
    else
      g->seed =
          s->is_number_unsigned() ? s->get<uint64_t>() : static_cast<uint64_t>(s->get<int64_t>());
  }
  if (const json* lb = f.Get("logit_bias")) {
    if (!lb->is_object()) {
      f.Fail("logit_bias", "logit_bias must be an object of token id → bias");
    } else {
      for (const auto& [k, v] : lb->items()) {
        char* end = nullptr;
        const long id = std::strtol(k.c_str(), &end, 10);
        if (k.empty() || *end != '\0' || id < 0 || id > INT32_MAX || !v.is_number() ||
            v.get<double>() < -100 || v.get<double>() > 100) {
          f.Fail("logit_bias", "logit_bias maps token ids to numbers between -100 and 100");
          break;
        }
        g->logit_bias.emplace_back(static_cast<int32_t>(id), v.get<float>());
      }
    }
  }
  if (const json* s = f.Get("stop")) {
    if (s->is_string()) {
      g->stop.push_back(s->get<std::string>());
    } else if (s->is_array() && s->size() <= 16) {
      for (const auto& e : *s) {
        if (!e.is_string()) {
          f.Fail("stop", "stop must be a string or a list of strings");
          break;
        }
        g->stop.push_back(e.get<std::string>());
      }
    } else {
      f.Fail("stop", "stop must be a string or a list of at most 16 strings");
    }
  }
  if (auto n = f.Int("n", 1, 128)) g->n = static_cast<int32_t>(*n);
  if (auto s = f.Bool("stream")) g->stream = *s;
  if (const json* so = f.Get("stream_options")) {
    if (!so->is_object()) {
      f.Fail("stream_options", "stream_options must be an object");
    } else if (auto it = so->find("include_usage"); it != so->end() && !it->is_null()) {
      if (!it->is_boolean())
        f.Fail("stream_options.include_usage", "include_usage must be true or false");
      else
        g->include_usage = it->get<bool>();
    }
  }
  if (chat) {
    const bool lp = f.Bool("logprobs").value_or(false);
    const auto top = f.Int("top_logprobs", 0, 20);
    if (top && !lp) f.Fail("top_logprobs", "top_logprobs needs logprobs set to true");
    if (lp) g->logprobs = static_cast<int32_t>(top.value_or(0));
  } else {
    if (auto lp = f.Int("logprobs", 0, 5)) g->logprobs = static_cast<int32_t>(*lp);
  }
  if (auto u = f.String("user")) g->user = *u;
  if (auto e = f.Bool("ignore_eos")) g->ignore_eos = *e;
}

// Checks one message and normalizes its content (text parts stay as they are: the template
// renderer joins them).
std::optional<ApiError> CheckMessage(const json& m, size_t i) {
  const std::string at = "messages[" + std::to_string(i) + "]";
  if (!m.is_object()) return InvalidParam(at, at + " must be an object");
  auto role = m.find("role");
  if (role == m.end() || !role->is_string())
    return InvalidParam(at + ".role", at + " needs a role");
  const std::string r = role->get<std::string>();
  if (r != "system" && r != "user" && r != "assistant" && r != "tool" && r != "developer")
    return InvalidParam(at + ".role",
                        "unknown role \"" + r + "\" (system, user, assistant, tool or developer)");
  auto content = m.find("content");
  const bool has_calls = m.contains("tool_calls") && !m["tool_calls"].is_null();
  if (content == m.end() || content->is_null()) {
    if (r == "assistant" && has_calls) return std::nullopt;
    return InvalidParam(at + ".content", at + " needs content");
  }
  if (content->is_string()) return std::nullopt;
  if (!content->is_array())
    return InvalidParam(at + ".content", "content must be a string or a list of text parts");
  for (const auto& part : *content) {
    if (!part.is_object() || StringField(part, "type") != "text" || !part.contains("text") ||
        !part["text"].is_string())
      return InvalidParam(at + ".content",
                          "only text content parts are supported ({\"type\": \"text\", "
                          "\"text\": ...})");
  }
  if (has_calls && !m["tool_calls"].is_array())
    return InvalidParam(at + ".tool_calls", "tool_calls must be a list");
  return std::nullopt;
}

}  // namespace

std::string StringField(const nlohmann::ordered_json& j, const char* key,
                        const std::string& fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

bool BoolField(const nlohmann::ordered_json& j, const char* key, bool fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

ApiResult<nlohmann::ordered_json> ParseBody(std::string_view body) {
  if (Depth(body, kMaxJsonDepth) > kMaxJsonDepth)
    return Malformed("The request body nests deeper than " + std::to_string(kMaxJsonDepth) +
                     " levels");
  json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Malformed("The request body is not valid JSON (or not valid UTF-8)");
  if (!j.is_object()) return Malformed("The request body must be a JSON object");
  return j;
}

ApiResult<ChatRequest> ParseChatRequest(const nlohmann::ordered_json& body,
                                        const std::string& header_model) {
  ChatRequest r;
  Fields f(body);
  ParseGeneration(f, header_model, &r.gen, /*chat=*/true);
  if (f.err_) return *f.err_;
  auto msgs = body.find("messages");
  if (msgs == body.end() || msgs->is_null()) return Malformed("messages is required");
  if (!msgs->is_array() || msgs->empty())
    return InvalidParam("messages", "messages must be a non-empty list");
  for (size_t i = 0; i < msgs->size(); ++i)
    if (auto e = CheckMessage((*msgs)[i], i)) return *e;
  r.messages = *msgs;
  // developer is OpenAI's newer name for system.
  for (auto& m : r.messages)
    if (m["role"] == "developer") m["role"] = "system";
  if (const json* rf = f.Get("response_format")) {
    const std::string t = StringField(*rf, "type");
    if (t == "text") {
      r.response_format = ResponseFormat::kText;
    } else if (t == "json_object") {
      r.response_format = ResponseFormat::kJsonObject;
    } else if (t == "json_schema") {
      r.response_format = ResponseFormat::kJsonSchema;
      auto js = rf->find("json_schema");
      if (js == rf->end() || !js->is_object() || !js->contains("schema"))
        return InvalidParam("response_format.json_schema",
                            "json_schema needs {\"name\": ..., \"schema\": {...}}");
      r.json_schema = (*js)["schema"];
    } else {
      return InvalidParam("response_format.type",
                          "response_format.type must be text, json_object or json_schema");
    }
  }
  if (const json* tools = f.Get("tools")) {
    if (!tools->is_array()) return InvalidParam("tools", "tools must be a list");
    for (const auto& t : *tools)
      if (!t.is_object() || StringField(t, "type") != "function" || !t.contains("function") ||
          !t["function"].is_object() || !t["function"].contains("name"))
        return InvalidParam("tools",
                            "each tool must be {\"type\": \"function\", \"function\": "
                            "{\"name\": ...}}");
    if (!tools->empty()) r.tools = *tools;
  }
  r.tool_choice = "auto";
  if (const json* tc = f.Get("tool_choice")) {
    if (tc->is_string()) {
      const std::string s = tc->get<std::string>();
      if (s != "auto" && s != "none" && s != "required")
        return InvalidParam("tool_choice",
                            "tool_choice must be auto, none, required or a "
                            "function");
    } else if (!tc->is_object()) {
      return InvalidParam("tool_choice", "tool_choice must be a string or an object");
    }
    r.tool_choice = *tc;
  }
  if (const json* k = f.Get("chat_template_kwargs"); k && k->is_object()) {
    for (const char* name : {"thinking", "enable_thinking"}) {
      auto it = k->find(name);
      if (it != k->end() && it->is_boolean()) r.thinking = it->get<bool>();
    }
  }
  if (r.gen.model.empty()) return Malformed("model is required");
  return r;
}

ApiResult<CompletionRequest> ParseCompletionRequest(const nlohmann::ordered_json& body,
                                                    const std::string& header_model) {
  CompletionRequest r;
  Fields f(body);
  ParseGeneration(f, header_model, &r.gen, /*chat=*/false);
  if (!r.gen.max_tokens && !f.Get("max_tokens")) r.gen.max_tokens = 16;  // OpenAI's default
  if (auto s = f.String("suffix")) r.suffix = *s;
  if (auto e = f.Bool("echo")) r.echo = *e;
  if (f.err_) return *f.err_;
  const json* p = f.Get("prompt");
  if (!p) return Malformed("prompt is required");
  auto ids = [](const json& a) -> std::optional<std::vector<int32_t>> {
    std::vector<int32_t> v;
    for (const auto& e : a) {
      if (!e.is_number_integer() || e.get<int64_t>() < 0 || e.get<int64_t>() > INT32_MAX)
        return std::nullopt;
      v.push_back(e.get<int32_t>());
    }
    return v;
  };
  if (p->is_string()) {
    r.prompts.emplace_back(p->get<std::string>());
  } else if (p->is_array() && !p->empty()) {
    if ((*p)[0].is_number_integer()) {
      auto v = ids(*p);
      if (!v) return InvalidParam("prompt", "a token prompt must be a list of token ids");
      r.prompts.emplace_back(std::move(*v));
    } else {
      for (const auto& e : *p) {
        if (e.is_string()) {
          r.prompts.emplace_back(e.get<std::string>());
        } else if (e.is_array()) {
          auto v = ids(e);
          if (!v || v->empty())
            return InvalidParam("prompt", "a token prompt must be a list of token ids");
          r.prompts.emplace_back(std::move(*v));
        } else {
          return InvalidParam("prompt",
                              "prompt must be a string, a list of strings, or token "
                              "ids");
        }
      }
    }
  } else {
    return InvalidParam("prompt", "prompt must be a string, a list of strings, or token ids");
  }
  if (r.prompts.size() > 64) return InvalidParam("prompt", "at most 64 prompts per request");
  if (r.gen.model.empty()) return Malformed("model is required");
  return r;
}

}  // namespace seekd::api
