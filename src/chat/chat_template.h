// Built-in chat templates: C++ renderers that reproduce the models' own Jinja templates
// byte-for-byte (tests render the real templates with Jinja2 and compare), and recognition of
// a model's tokenizer.chat_template so the right renderer is chosen without a Jinja engine.
//
// Messages are OpenAI-style: [{"role": "system"|"user"|"assistant"|"tool", "content": string |
// null | [{"type": "text", "text": ...}], "tool_calls": [...]}]. Text parts are joined into one
// string before rendering (the templates themselves only accept strings).
//
// Thread-safety: all functions are pure.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace seekd::chat {

enum class TemplateId {
  kDeepSeekV3,      // DeepSeek-V3 (and its chat revisions)
  kR1DistillQwen,   // DeepSeek-R1-Distill-Qwen 1.5B–32B
  kR1DistillLlama,  // DeepSeek-R1-Distill-Llama 8B/70B
  kQwen25,          // Qwen2.5 instruct, ChatML with tools
  kDeepSeekV31,     // DeepSeek-V3.1: thinking switch, compact tool calls
  kLlama31,         // Llama-3.1 instruct (tools in the first user message)
  kDeepSeekLlm,     // DeepSeek-LLM 7B/67B chat (and V2-Lite chat)
  kDeepSeekCoder,   // DeepSeek-Coder instruct
};

std::string_view TemplateName(TemplateId id);
std::vector<std::string_view> TemplateNames();
// By name as TemplateName writes it; the error lists the names.
Result<TemplateId> TemplateFromName(std::string_view name);
// Recognizes a model's Jinja chat template by fingerprints; nullopt when unknown.
std::optional<TemplateId> RecognizeTemplate(std::string_view jinja);
// The error to show when recognition fails: names --template and the choices.
Status UnknownTemplateError();

struct RenderOptions {
  bool add_generation_prompt = true;
  // OpenAI tools array. ordered_json keeps the caller's key order, which tojson prints as is
  // (transformers' tojson does not sort keys).
  std::optional<nlohmann::ordered_json> tools;
  // The thinking switch: R1-Distill-Qwen's `enable_thinking`, V3.1's `thinking`. Both templates
  // treat "not given" exactly like false, so a plain bool is enough.
  bool thinking = false;
  std::string date_string;  // Llama-3.1's "Today Date" ("" → its default, 26 Jul 2024)
  // Token texts the templates print; "" → DefaultBosToken(id) / DefaultEosToken(id). Callers that
  // loaded a model pass its own (tokenizer_config.json or GGUF).
  std::string bos_token, eos_token;
};

// The bos/eos texts of the models each template ships with ("" where the model has none).
std::string_view DefaultBosToken(TemplateId id);
std::string_view DefaultEosToken(TemplateId id);

// Renders `messages` exactly as the model's Jinja template would (transformers' settings).
// Messages must be parsed as ordered_json so that object tool arguments keep their key order.
// Errors: InvalidArgument for messages the renderer does not accept (see
// docs/design/chat-templates.md).
Result<std::string> Render(TemplateId id, const nlohmann::ordered_json& messages,
                           const RenderOptions& options);

// Python's json.dumps(x, ensure_ascii=False[, indent=N]) — what the templates' tojson prints.
std::string PyJsonDumps(const nlohmann::ordered_json& value, int indent = 0);

}  // namespace seekd::chat
