// The renderers. Each mirrors its Jinja template statement by statement (including quirks such as
// DeepSeek-V3 closing a tool-call block only after a second call); tests/chat compares bytes
// with the real templates rendered by Jinja2.
#include "chat/chat_template.h"

namespace seekd::chat {

namespace {
using ojson = nlohmann::ordered_json;

struct Msg {
  std::string role;
  bool prefix = false;  // DeepSeek's prefix completion flag on the last assistant message
  std::optional<std::string> content;     // nullopt: null or absent
  const ojson* tool_calls = nullptr;      // a non-empty array, else null
  const ojson* tool_calls_key = nullptr;  // the "tool_calls" value whenever the key is present
};

struct ToolCall {
  std::string type, name;
  const ojson* arguments;  // string (OpenAI) or object
};

const std::string kEos = "<｜end▁of▁sentence｜>";

Result<std::vector<Msg>> Normalize(const ojson& messages) {
  if (!messages.is_array()) return InvalidArgument("messages must be a JSON array");
  if (messages.empty()) return InvalidArgument("messages is empty");
  std::vector<Msg> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ojson& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object() || !m.contains("role") || !m["role"].is_string())
      return InvalidArgument(where + " needs a string 'role'");
    Msg msg;
    msg.role = m["role"].get<std::string>();
    if (m.contains("prefix") && m["prefix"].is_boolean()) msg.prefix = m["prefix"].get<bool>();
    if (msg.role != "system" && msg.role != "user" && msg.role != "assistant" && msg.role != "tool")
      return InvalidArgument(where + " has role '" + msg.role +
                             "' (system, user, assistant or tool)");
    if (m.contains("content") && !m["content"].is_null()) {
      const ojson& c = m["content"];
      if (c.is_string()) {
        msg.content = c.get<std::string>();
      } else if (c.is_array()) {  // text parts are joined: the templates accept only strings
        std::string joined;
        for (const auto& part : c) {
          if (!part.is_object() || part.value("type", "") != "text" || !part.contains("text") ||
              !part["text"].is_string())
            return InvalidArgument(
                where + ".content holds a part that is not {\"type\": \"text\", \"text\": ...}");
          joined += part["text"].get<std::string>();
        }
        msg.content = joined;
      } else {
        return InvalidArgument(where + ".content must be a string, text parts or null");
      }
    }
    if (m.contains("tool_calls")) msg.tool_calls_key = &m["tool_calls"];
    if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
      if (!m["tool_calls"].is_array())
        return InvalidArgument(where + ".tool_calls must be an array");
      if (!m["tool_calls"].empty()) msg.tool_calls = &m["tool_calls"];
    }
    if (msg.role != "assistant" && !msg.content)
      return InvalidArgument(where + " (" + msg.role + ") needs a string content");
    if (msg.role == "assistant" && !msg.content && !msg.tool_calls)
      return InvalidArgument(where + " (assistant) has neither content nor tool_calls");
    out.push_back(std::move(msg));
  }
  return out;
}

// `allow_flat`: Qwen2.5's template also takes {"name", "arguments"} without a "function" wrapper;
// the others index tool['function'] and would raise.
Result<std::vector<ToolCall>> ToolCalls(const Msg& m, bool need_type, bool allow_flat = false) {
  std::vector<ToolCall> out;
  if (!m.tool_calls) return out;
  for (const auto& tc : *m.tool_calls) {
    if (!tc.is_object()) return InvalidArgument("a tool call must be a JSON object");
    if (!allow_flat && !tc.contains("function"))
      return InvalidArgument("a tool call needs a 'function' object");
    const ojson& f = tc.contains("function") ? tc["function"] : tc;
    if (!f.is_object() || !f.contains("name") || !f["name"].is_string() || !f.contains("arguments"))
      return InvalidArgument("a tool call needs function.name and function.arguments");
    ToolCall c{"", f["name"].get<std::string>(), &f["arguments"]};
    if (need_type) {
      if (!tc.contains("type") || !tc["type"].is_string())
        return InvalidArgument("a tool call needs a string 'type'");
      c.type = tc["type"].get<std::string>();
    }
    out.push_back(std::move(c));
  }
  return out;
}

Result<std::string> ArgsText(const ToolCall& c, bool as_json) {
  if (as_json) return PyJsonDumps(*c.arguments);
  if (!c.arguments->is_string())
    return InvalidArgument("tool call arguments must be a JSON string for this template");
  return c.arguments->get<std::string>();
}

std::string AfterLastThink(const std::string& s) {
  const size_t p = s.rfind("</think>");
  return p == std::string::npos ? s : s.substr(p + 8);
}

// DeepSeek-V3 and the R1 distills share one skeleton; `Flavor` holds their differences.
struct Flavor {
  bool join_systems;        // V3: every system prompt, joined by a blank line; else the last
  bool calls_when_present;  // Distill-Qwen: tool calls whenever present, closed after each message
  bool args_tojson;         // Distill-Qwen: arguments through tojson
  bool strip_think;         // R1: history loses its reasoning
  std::string gen_prompt;   // after the last message
  bool close_think_unless_thinking;  // Distill-Qwen: '</think>' unless enable_thinking
};

Result<std::string> RenderDeepSeek(const std::vector<Msg>& msgs, const RenderOptions& o,
                                   const Flavor& fl) {
  std::string sys;
  bool first_sp = true;
  for (const auto& m : msgs) {
    if (m.role != "system") continue;
    if (fl.join_systems) {
      sys += (first_sp ? "" : "\n\n") + *m.content;
      first_sp = false;
    } else {
      sys = *m.content;
    }
  }
  std::string out = o.bos_token + sys;
  bool is_first = false, is_tool = false, is_output_first = true;
  for (const auto& m : msgs) {
    if (m.role == "user") {
      is_tool = false;
      out += "<｜User｜>" + *m.content;
    }
    const bool calls = fl.calls_when_present ? m.tool_calls != nullptr : !m.content.has_value();
    if (m.role == "assistant" && calls) {
      is_tool = false;
      SEEKD_ASSIGN_OR_RETURN(std::vector<ToolCall> tcs, ToolCalls(m, true));
      for (const auto& tc : tcs) {
        SEEKD_ASSIGN_OR_RETURN(std::string args, ArgsText(tc, fl.args_tojson));
        const std::string body = tc.type + "<｜tool▁sep｜>" + tc.name + "\n```json\n" + args +
                                 "\n```<｜tool▁call▁end｜>";
        if (!is_first) {
          out += "<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>" + body;
          is_first = true;
        } else {
          out += "\n<｜tool▁call▁begin｜>" + body;
          if (!fl.calls_when_present) out += "<｜tool▁calls▁end｜>" + kEos;
        }
      }
      if (fl.calls_when_present) out += "<｜tool▁calls▁end｜>" + kEos;
    }
    if (m.role == "assistant" && m.content) {
      if (is_tool) {
        out += "<｜tool▁outputs▁end｜>" + *m.content + kEos;
        is_tool = false;
      } else {
        out +=
            "<｜Assistant｜>" + (fl.strip_think ? AfterLastThink(*m.content) : *m.content) + kEos;
      }
    }
    if (m.role == "tool") {
      is_tool = true;
      if (is_output_first) {
        out += "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>" + *m.content +
               "<｜tool▁output▁end｜>";
        is_output_first = false;
      } else {
        out += "\n<｜tool▁output▁begin｜>" + *m.content + "<｜tool▁output▁end｜>";
      }
    }
  }
  if (is_tool) out += "<｜tool▁outputs▁end｜>";
  if (o.add_generation_prompt && !is_tool) {
    out += fl.gen_prompt;
    if (fl.close_think_unless_thinking && !o.thinking) out += "</think>";
  }
  return out;
}

// DeepSeek-V3.1: the assistant turn opens with an explicit (empty or open) think block, tool
// calls carry no type and JSON-encode their arguments, tool outputs have no enclosing block.
Result<std::string> RenderDeepSeekV31(const std::vector<Msg>& msgs, const RenderOptions& o) {
  const bool thinking = o.thinking;
  std::string sys;
  bool first_sp = true;
  for (const auto& m : msgs)
    if (m.role == "system") {
      sys += (first_sp ? "" : "\n\n") + *m.content;
      first_sp = false;
    }
  std::string out = o.bos_token + sys;
  bool is_first = false, is_tool = false, is_last_user = false;
  for (const auto& m : msgs) {
    if (m.role == "user") {
      is_tool = is_first = false;
      is_last_user = true;
      out += "<｜User｜>" + *m.content;
    }
    if (m.role == "assistant" && m.tool_calls) {
      if (is_last_user) out += "<｜Assistant｜><think></think>";
      is_last_user = is_first = is_tool = false;
      SEEKD_ASSIGN_OR_RETURN(std::vector<ToolCall> tcs, ToolCalls(m, false));
      for (const auto& tc : tcs) {
        const std::string call = "<｜tool▁call▁begin｜>" + tc.name + "<｜tool▁sep｜>" +
                                 PyJsonDumps(*tc.arguments) + "<｜tool▁call▁end｜>";
        if (!is_first) {
          out += (m.content ? *m.content : "") + "<｜tool▁calls▁begin｜>" + call;
          is_first = true;
        } else {
          out += call;
        }
      }
      out += "<｜tool▁calls▁end｜>" + kEos;
    }
    if (m.role == "assistant" && !m.tool_calls) {
      if (is_last_user)
        out +=
            std::string("<｜Assistant｜>") + (m.prefix && thinking ? "<think>" : "<think></think>");
      is_last_user = false;
      if (is_tool) {
        out += *m.content + kEos;
        is_tool = false;
      } else {
        const size_t p = m.content->find("</think>");
        out += (p == std::string::npos ? *m.content : m.content->substr(p + 8)) + kEos;
      }
    }
    if (m.role == "tool") {
      is_last_user = false;
      is_tool = true;
      out += "<｜tool▁output▁begin｜>" + *m.content + "<｜tool▁output▁end｜>";
    }
  }
  if (o.add_generation_prompt && is_last_user && !is_tool)
    out += std::string("<｜Assistant｜>") + (thinking ? "<think>" : "<think></think>");
  return out;
}

// Python's str.strip(): Unicode whitespace at both ends (what Jinja's trim filter does).
std::string PyStrip(const std::string& s) {
  static const char* const kSpaces[] = {
      "\t",           "\n",           "\v",           "\f",           "\r",
      "\x1c",         "\x1d",         "\x1e",         "\x1f",         " ",
      "\xc2\x85",     "\xc2\xa0",     "\xe1\x9a\x80", "\xe2\x80\xa8", "\xe2\x80\xa9",
      "\xe2\x80\xaf", "\xe2\x81\x9f", "\xe3\x80\x80"};
  auto space_at = [&](size_t i,
                      bool backwards) -> size_t {  // length of the space ending/starting at i
    for (const char* sp : kSpaces) {
      const size_t n = std::char_traits<char>::length(sp);
      if (backwards ? (i >= n && s.compare(i - n, n, sp) == 0) : s.compare(i, n, sp) == 0) return n;
    }
    // U+2000..U+200A: e2 80 80..8a
    if (backwards ? (i >= 3 && s.compare(i - 3, 2, "\xe2\x80") == 0 &&
                     static_cast<uint8_t>(s[i - 1]) <= 0x8a)
                  : (s.compare(i, 2, "\xe2\x80") == 0 && i + 2 < s.size() &&
                     static_cast<uint8_t>(s[i + 2]) <= 0x8a))
      return 3;
    return 0;
  };
  size_t b = 0, e = s.size();
  while (b < e)
    if (size_t n = space_at(b, false))
      b += n;
    else
      break;
  while (e > b)
    if (size_t n = space_at(e, true))
      e -= n;
    else
      break;
  return s.substr(b, e - b);
}

Result<std::string> RenderLlama31(std::vector<Msg> msgs, const RenderOptions& o) {
  const bool has_tools = o.tools.has_value() && !o.tools->is_null();
  std::string out = o.bos_token;
  std::string system_message;
  if (msgs[0].role == "system") {
    system_message = PyStrip(*msgs[0].content);
    msgs.erase(msgs.begin());
  }
  out += "<|start_header_id|>system<|end_header_id|>\n\n";
  if (has_tools) out += "Environment: ipython\n";
  out += "Cutting Knowledge Date: December 2023\nToday Date: " +
         (o.date_string.empty() ? std::string("26 Jul 2024") : o.date_string) + "\n\n";
  out += system_message + "<|eot_id|>";
  if (has_tools) {
    if (msgs.empty())
      return InvalidArgument(
          "Cannot put tools in the first user message when there's no first user message!");
    if (!msgs[0].content) return InvalidArgument("the first user message needs a string content");
    const std::string first_user = PyStrip(*msgs[0].content);
    msgs.erase(msgs.begin());
    out +=
        "<|start_header_id|>user<|end_header_id|>\n\n"
        "Given the following functions, please respond with a JSON for a function call with its "
        "proper "
        "arguments that best answers the given prompt.\n\nRespond in the format {\"name\": "
        "function name, "
        "\"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n";
    for (const auto& t : *o.tools) out += PyJsonDumps(t, 4) + "\n\n";
    out += first_user + "<|eot_id|>";
  }
  for (const auto& m : msgs) {
    if (m.role != "tool" && !m.tool_calls_key) {
      if (!m.content) return InvalidArgument("a " + m.role + " message needs a string content");
      out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + PyStrip(*m.content) +
             "<|eot_id|>";
    } else if (m.tool_calls_key) {
      if (!m.tool_calls_key->is_array() || m.tool_calls_key->size() != 1)
        return InvalidArgument("This model only supports single tool-calls at once!");
      SEEKD_ASSIGN_OR_RETURN(std::vector<ToolCall> tcs, ToolCalls(m, false));
      out += "<|start_header_id|>assistant<|end_header_id|>\n\n{\"name\": \"" + tcs[0].name +
             "\", \"parameters\": " + PyJsonDumps(*tcs[0].arguments) + "}<|eot_id|>";
    } else {  // tool: a string is iterable, so the template prints it through tojson
      out += "<|start_header_id|>ipython<|end_header_id|>\n\n" + PyJsonDumps(ojson(*m.content)) +
             "<|eot_id|>";
    }
  }
  if (o.add_generation_prompt) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

Status NeedsContent(const Msg& m) {
  return m.content ? Status::Ok()
                   : InvalidArgument("this template needs a string content in every " + m.role +
                                     " message");
}

Result<std::string> RenderDeepSeekLlm(const std::vector<Msg>& msgs, const RenderOptions& o) {
  std::string out = o.bos_token;
  for (const auto& m : msgs) {
    SEEKD_RETURN_IF_ERROR(NeedsContent(m));
    if (m.role == "user")
      out += "User: " + *m.content + "\n\n";
    else if (m.role == "assistant")
      out += "Assistant: " + *m.content + o.eos_token;
    else if (m.role == "system")
      out += *m.content + "\n\n";
  }
  if (o.add_generation_prompt) out += "Assistant:";
  return out;
}

Result<std::string> RenderDeepSeekCoder(const std::vector<Msg>& msgs, const RenderOptions& o) {
  bool has_system = false;
  for (const auto& m : msgs) has_system |= m.role == "system";
  std::string out = o.bos_token;
  if (!has_system)
    out +=
        "You are an AI programming assistant, utilizing the Deepseek Coder model, developed by "
        "Deepseek Company, "
        "and you only answer questions related to computer science. For politically sensitive "
        "questions, "
        "security and privacy issues, and other non-computer science questions, you will refuse to "
        "answer\n";
  for (const auto& m : msgs) {
    SEEKD_RETURN_IF_ERROR(NeedsContent(m));
    if (m.role == "system")
      out += *m.content;
    else if (m.role == "user")
      out += "### Instruction:\n" + *m.content + "\n";
    else
      out += "### Response:\n" + *m.content + "\n<|EOT|>\n";
  }
  // The model's template prints '### Response:' and keeps the line break after that tag.
  if (o.add_generation_prompt) out += "### Response:\n";
  return out;
}

constexpr const char* kQwenDefaultSystem =
    "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

Result<std::string> RenderQwen25(const std::vector<Msg>& msgs, const RenderOptions& o) {
  std::string out;
  const bool first_is_system = msgs[0].role == "system";
  const bool has_tools = o.tools && !o.tools->is_null() && !o.tools->empty();
  if (has_tools) {
    if (!o.tools->is_array()) return InvalidArgument("tools must be an array");
    out += "<|im_start|>system\n";
    out += first_is_system ? *msgs[0].content : kQwenDefaultSystem;
    out +=
        "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    for (const auto& t : *o.tools) out += "\n" + PyJsonDumps(t);
    out +=
        "\n</tools>\n\nFor each function call, return a json object with function name and "
        "arguments within "
        "<tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, "
        "\"arguments\": "
        "<args-json-object>}\n</tool_call><|im_end|>\n";
  } else if (first_is_system) {
    out += "<|im_start|>system\n" + *msgs[0].content + "<|im_end|>\n";
  } else {
    out += std::string("<|im_start|>system\n") + kQwenDefaultSystem + "<|im_end|>\n";
  }
  for (size_t i = 0; i < msgs.size(); ++i) {
    const Msg& m = msgs[i];
    if (m.role == "user" || (m.role == "system" && i != 0) ||
        (m.role == "assistant" && !m.tool_calls)) {
      if (!m.content)
        return InvalidArgument("messages[" + std::to_string(i) + "] needs a string content");
      out += "<|im_start|>" + m.role + "\n" + *m.content + "<|im_end|>\n";
    } else if (m.role == "assistant") {
      out += "<|im_start|>assistant";
      if (m.content && !m.content->empty()) out += "\n" + *m.content;
      SEEKD_ASSIGN_OR_RETURN(std::vector<ToolCall> tcs, ToolCalls(m, false, true));
      for (const auto& tc : tcs)
        out += "\n<tool_call>\n{\"name\": \"" + tc.name +
               "\", \"arguments\": " + PyJsonDumps(*tc.arguments) + "}\n</tool_call>";
      out += "<|im_end|>\n";
    } else if (m.role == "tool") {
      if (i == 0 || msgs[i - 1].role != "tool") out += "<|im_start|>user";
      out += "\n<tool_response>\n" + *m.content + "\n</tool_response>";
      if (i + 1 == msgs.size() || msgs[i + 1].role != "tool") out += "<|im_end|>\n";
    }
  }
  if (o.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

}  // namespace

Result<std::string> Render(TemplateId id, const ojson& messages, const RenderOptions& options) {
  SEEKD_ASSIGN_OR_RETURN(std::vector<Msg> msgs, Normalize(messages));
  RenderOptions o = options;
  if (o.bos_token.empty()) o.bos_token = DefaultBosToken(id);
  if (o.eos_token.empty()) o.eos_token = DefaultEosToken(id);
  switch (id) {
    case TemplateId::kDeepSeekV3:
      return RenderDeepSeek(msgs, o, {true, false, false, false, "<｜Assistant｜>", false});
    case TemplateId::kR1DistillQwen:
      return RenderDeepSeek(msgs, o, {false, true, true, true, "<｜Assistant｜><think>\n", true});
    case TemplateId::kR1DistillLlama:
      return RenderDeepSeek(msgs, o,
                            {false, false, false, true, "<｜Assistant｜><think>\n", false});
    case TemplateId::kQwen25:
      return RenderQwen25(msgs, o);
    case TemplateId::kDeepSeekLlm:
      return RenderDeepSeekLlm(msgs, o);
    case TemplateId::kDeepSeekCoder:
      return RenderDeepSeekCoder(msgs, o);
    case TemplateId::kLlama31:
      return RenderLlama31(std::move(msgs), o);
    case TemplateId::kDeepSeekV31:
      return RenderDeepSeekV31(msgs, o);
  }
  return Internal("unknown template id");
}

}  // namespace seekd::chat
