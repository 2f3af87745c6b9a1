#include "chat/chat_template.h"

#include <cmath>
#include <cstdio>

namespace seekd::chat {

using ojson = nlohmann::ordered_json;

namespace {
struct Entry {
  TemplateId id;
  std::string_view name;
};
constexpr Entry kTemplates[] = {
    {TemplateId::kDeepSeekV3, "deepseek-v3"},
    {TemplateId::kR1DistillQwen, "deepseek-r1-distill-qwen"},
    {TemplateId::kR1DistillLlama, "deepseek-r1-distill-llama"},
    {TemplateId::kQwen25, "qwen2.5"},
    {TemplateId::kDeepSeekV31, "deepseek-v3.1"},
    {TemplateId::kLlama31, "llama-3.1"},
    {TemplateId::kDeepSeekLlm, "deepseek-llm"},
    {TemplateId::kDeepSeekCoder, "deepseek-coder"},
};

bool Has(std::string_view s, std::string_view needle) {
  return s.find(needle) != std::string_view::npos;
}
// V3.1 writes tool calls without a type and without the tool-outputs block.
bool deepseek_tools_v31(std::string_view t) {
  return Has(t, "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>'+ tool['function']['name']") &&
         Has(t, "<｜tool▁output▁begin｜>") && !Has(t, "<｜tool▁outputs▁begin｜>");
}
}  // namespace

std::string_view TemplateName(TemplateId id) {
  for (const auto& e : kTemplates)
    if (e.id == id) return e.name;
  return "?";
}

std::vector<std::string_view> TemplateNames() {
  std::vector<std::string_view> v;
  for (const auto& e : kTemplates) v.push_back(e.name);
  return v;
}

Status UnknownTemplateError() {
  std::string names;
  for (auto n : TemplateNames()) names += (names.empty() ? "" : ", ") + std::string(n);
  return NotFound(
      "the model's chat template is not one seekd renders; choose one with --template NAME (" +
      names + ")");
}

Result<TemplateId> TemplateFromName(std::string_view name) {
  for (const auto& e : kTemplates)
    if (e.name == name) return e.id;
  std::string names;
  for (auto n : TemplateNames()) names += (names.empty() ? "" : ", ") + std::string(n);
  return InvalidArgument("unknown template '" + std::string(name) + "' (known: " + names + ")");
}

// Each fingerprint pins the features that decide the rendered bytes, so a template that merely
// looks similar is not claimed.
std::optional<TemplateId> RecognizeTemplate(std::string_view t) {
  const bool deepseek_tools = Has(t, "<｜tool▁outputs▁begin｜>") && Has(t, "<｜tool▁call▁begin｜>");
  if (deepseek_tools && Has(t, "is_first_sp") && Has(t, "'\n\n' + message['content']") &&
      !Has(t, "</think>") && Has(t, "{{'<｜Assistant｜>'}}"))
    return TemplateId::kDeepSeekV3;
  if (deepseek_tools && Has(t, "content.split('</think>')[-1]") &&
      Has(t, "<｜Assistant｜><think>\\n")) {
    if (Has(t, "message['tool_calls']") && Has(t, "| tojson") && Has(t, "enable_thinking"))
      return TemplateId::kR1DistillQwen;
    if (Has(t, "message['content'] is none") && !Has(t, "tojson") && !Has(t, "enable_thinking"))
      return TemplateId::kR1DistillLlama;
  }
  if (deepseek_tools_v31(t) && Has(t, "is_last_user") && Has(t, "split('</think>', 1)[1]") &&
      Has(t, "{{'<｜Assistant｜><think></think>'}}") && Has(t, "set thinking = enable_thinking") &&
      Has(t, "message['prefix']"))
    return TemplateId::kDeepSeekV31;
  if (Has(t, "<|im_start|>") &&
      Has(t, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.") &&
      Has(t, "<tool_call>\\n{\\\"name\\\": <function-name>") && Has(t, "<tool_response>"))
    return TemplateId::kQwen25;
  if (Has(t, "<|start_header_id|>system<|end_header_id|>") &&
      Has(t, "Cutting Knowledge Date: December 2023") && Has(t, "tools_in_user_message") &&
      Has(t, "26 Jul 2024") && Has(t, "This model only supports single tool-calls at once!") &&
      Has(t, "t | tojson(indent=4)"))
    return TemplateId::kLlama31;
  if (Has(t, "'User: ' + message['content'] + '\\n\\n'") &&
      Has(t, "'Assistant: ' + message['content'] + eos_token") && Has(t, "'Assistant:'"))
    return TemplateId::kDeepSeekLlm;
  if (Has(t, "'### Instruction:\\n' + message['content'] + '\\n'") && Has(t, "\\n<|EOT|>\\n") &&
      Has(t, "utilizing the Deepseek Coder model") && Has(t, "ns.found"))
    return TemplateId::kDeepSeekCoder;
  return std::nullopt;
}

namespace {
void DumpString(const std::string& s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          *out += buf;
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

// Python's float repr: shortest round-trip digits, exponent as e-07 / e+16.
std::string PyFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  const size_t e = s.find('e');
  if (e == std::string::npos) {
    if (s.find('.') == std::string::npos) s += ".0";
    return s;
  }
  // Python switches to exponent form at 1e16 and below 1e-4, as %g does; only the mantissa's ".0"
  // differs: Python writes 1e+16, %g writes 1e+16 too.
  return s;
}

void Dump(const ojson& v, int indent, int depth, std::string* out) {
  switch (v.type()) {
    case ojson::value_t::null:
      *out += "null";
      break;
    case ojson::value_t::boolean:
      *out += v.get<bool>() ? "true" : "false";
      break;
    case ojson::value_t::number_integer:
      *out += std::to_string(v.get<int64_t>());
      break;
    case ojson::value_t::number_unsigned:
      *out += std::to_string(v.get<uint64_t>());
      break;
    case ojson::value_t::number_float:
      *out += PyFloat(v.get<double>());
      break;
    case ojson::value_t::string:
      DumpString(v.get<std::string>(), out);
      break;
    case ojson::value_t::array:
    case ojson::value_t::object: {
      // Python: "[a, b]" on one line, or with indent one item per line and "," at line ends.
      const bool obj = v.is_object();
      if (v.empty()) {
        *out += obj ? "{}" : "[]";
        break;
      }
      out->push_back(obj ? '{' : '[');
      const std::string pad =
          indent > 0 ? "\n" + std::string(static_cast<size_t>(indent * (depth + 1)), ' ') : "";
      bool first = true;
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (!first) *out += indent > 0 ? "," : ", ";
        first = false;
        *out += pad;
        if (obj) {
          DumpString(it.key(), out);
          *out += ": ";
        }
        Dump(it.value(), indent, depth + 1, out);
      }
      if (indent > 0) *out += "\n" + std::string(static_cast<size_t>(indent * depth), ' ');
      out->push_back(obj ? '}' : ']');
      break;
    }
    default:
      *out += "null";
      break;
  }
}
}  // namespace

std::string PyJsonDumps(const ojson& value, int indent) {
  std::string out;
  Dump(value, indent, 0, &out);
  return out;
}

}  // namespace seekd::chat
