#include "chat/chat_template.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace seekd::chat {

using ojson = nlohmann::ordered_json;

namespace {
// One row per template: its name and the bos/eos texts of the models that ship it (from their
// tokenizer_config.json; Qwen2.5 has no bos token).
struct Entry {
  TemplateId id;
  std::string_view name, bos, eos;
};
constexpr std::string_view kDsBos = "<｜begin▁of▁sentence｜>";
constexpr std::string_view kDsEos = "<｜end▁of▁sentence｜>";
constexpr Entry kTemplates[] = {
    {TemplateId::kDeepSeekV3, "deepseek-v3", kDsBos, kDsEos},
    {TemplateId::kR1DistillQwen, "deepseek-r1-distill-qwen", kDsBos, kDsEos},
    {TemplateId::kR1DistillLlama, "deepseek-r1-distill-llama", kDsBos, kDsEos},
    {TemplateId::kQwen25, "qwen2.5", "", "<|im_end|>"},
    {TemplateId::kDeepSeekV31, "deepseek-v3.1", kDsBos, kDsEos},
    {TemplateId::kLlama31, "llama-3.1", "<|begin_of_text|>", "<|eot_id|>"},
    {TemplateId::kDeepSeekLlm, "deepseek-llm", kDsBos, kDsEos},
    {TemplateId::kDeepSeekCoder, "deepseek-coder", kDsBos, "<|EOT|>"},
};

const Entry* Find(TemplateId id) {
  for (const auto& e : kTemplates)
    if (e.id == id) return &e;
  return nullptr;
}

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
  const Entry* e = Find(id);
  return e ? e->name : "?";
}

std::string_view DefaultBosToken(TemplateId id) {
  const Entry* e = Find(id);
  return e ? e->bos : "";
}

std::string_view DefaultEosToken(TemplateId id) {
  const Entry* e = Find(id);
  return e ? e->eos : "";
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

// Each fingerprint pins the features that decide the rendered bytes (system-prompt handling,
// tool-call layout, reasoning stripping, generation prompt), so a revision that changes any of
// them is not claimed: a false "unknown" costs a --template flag, a false match costs wrong bytes.
std::optional<TemplateId> RecognizeTemplate(std::string_view t) {
  const bool deepseek_tools = Has(t, "<｜tool▁outputs▁begin｜>") && Has(t, "<｜tool▁call▁begin｜>");
  // V3 and Distill-Llama close the tool-call block right after every call but the first.
  const bool late_close =
      Has(t, "'<｜tool▁call▁end｜>'}}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}");
  const bool last_system_only =
      Has(t, "set ns.system_prompt = message['content']") && !Has(t, "is_first_sp");
  if (deepseek_tools && late_close && Has(t, "is_first_sp") &&
      Has(t, "'\n\n' + message['content']") && Has(t, "message['content'] is none") &&
      !Has(t, "</think>") && !Has(t, "tojson") && Has(t, "{{'<｜Assistant｜>'}}"))
    return TemplateId::kDeepSeekV3;
  if (deepseek_tools && last_system_only && Has(t, "content.split('</think>')[-1]") &&
      Has(t, "{{'<｜Assistant｜><think>\\n'}}")) {
    if (!late_close && Has(t, "message['tool_calls'] -%}") &&
        Has(t, "tool['function']['arguments'] | tojson") &&
        Has(t, "{% if not enable_thinking %}{{- '</think>' -}}{% endif %}"))
      return TemplateId::kR1DistillQwen;
    if (late_close && Has(t, "message['content'] is none") && !Has(t, "tojson") &&
        !Has(t, "enable_thinking"))
      return TemplateId::kR1DistillLlama;
  }
  if (deepseek_tools_v31(t) && Has(t, "is_last_user") && Has(t, "split('</think>', 1)[1]") &&
      Has(t, "{{'<｜Assistant｜><think></think>'}}") && Has(t, "set thinking = enable_thinking") &&
      Has(t, "message['prefix']"))
    return TemplateId::kDeepSeekV31;
  if (Has(t, "<|im_start|>") &&
      Has(t, "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.") &&
      Has(t, "<tool_call>\\n{\\\"name\\\": <function-name>") && Has(t, "<tool_response>") &&
      Has(t, "messages[loop.index0 - 1].role != \"tool\""))
    return TemplateId::kQwen25;
  if (Has(t, "<|start_header_id|>system<|end_header_id|>") &&
      Has(t, "Cutting Knowledge Date: December 2023") && Has(t, "tools_in_user_message") &&
      Has(t, "26 Jul 2024") && Has(t, "This model only supports single tool-calls at once!") &&
      Has(t, "t | tojson(indent=4)") && Has(t, "message['content'] | trim"))
    return TemplateId::kLlama31;
  if (Has(t, "'User: ' + message['content'] + '\\n\\n'") &&
      Has(t, "'Assistant: ' + message['content'] + eos_token") &&
      Has(t, "message['content'] + '\\n\\n'") && Has(t, "'Assistant:'") && !Has(t, "trim"))
    return TemplateId::kDeepSeekLlm;
  if (Has(t, "'### Instruction:\\n' + message['content'] + '\\n'") &&
      Has(t, "'### Response:\\n' + message['content'] + '\\n<|EOT|>\\n'") &&
      Has(t, "utilizing the Deepseek Coder model") && Has(t, "ns.found") &&
      Has(t, "{{'### Response:'}}\n{% endif %}"))
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

// Python's float repr: the shortest digits that round-trip, written in positional form when the
// decimal exponent is in [-4, 16), else as d.ddde±XX (1e-05, 1e+16, 1.5e+300).
std::string PyFloat(double d) {
  if (std::isnan(d)) return "NaN";
  if (std::isinf(d)) return d > 0 ? "Infinity" : "-Infinity";
  char buf[64];
  for (int prec = 0; prec <= 16; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  // buf: [-]d[.ddd]e±XX
  std::string s = buf;
  const bool neg = s[0] == '-';
  if (neg) s.erase(0, 1);
  const size_t e_pos = s.find('e');
  const int exp10 = static_cast<int>(std::strtol(s.c_str() + e_pos + 1, nullptr, 10));
  std::string digits = s.substr(0, e_pos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  std::string out = neg ? "-" : "";
  if (exp10 < -4 || exp10 >= 16) {
    out.push_back(digits[0]);
    if (digits.size() > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    char e[16];
    std::snprintf(e, sizeof e, "e%c%02d", exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
    return out + e;
  }
  if (exp10 < 0) return out + "0." + std::string(static_cast<size_t>(-exp10 - 1), '0') + digits;
  const size_t int_len = static_cast<size_t>(exp10) + 1;
  if (digits.size() <= int_len)
    return out + digits + std::string(int_len - digits.size(), '0') + ".0";
  return out + digits.substr(0, int_len) + "." + digits.substr(int_len);
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
      std::string pad;
      if (indent > 0)
        pad.append(1, '\n').append(static_cast<size_t>(indent) * static_cast<size_t>(depth + 1),
                                   ' ');
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
      if (indent > 0)
        out->append(1, '\n').append(static_cast<size_t>(indent) * static_cast<size_t>(depth), ' ');
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
