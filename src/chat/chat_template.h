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
  std::optional<nlohmann::ordered_json> tools;  // OpenAI tools array
  // The thinking switch (R1-Distill-Qwen's enable_thinking, V3.1's thinking): nullopt leaves it
  // undefined, as a caller that does not pass it would.
  std::optional<bool> thinking;
  std::string bos_token = "<｜begin▁of▁sentence｜>";  // callers pass the model's own
  std::string date_string;  // Llama-3.1's "Today Date" ("" → its default)
  std::string eos_token = "<｜end▁of▁sentence｜>";
};

Result<std::string> Render(TemplateId id, const nlohmann::ordered_json& messages,
                           const RenderOptions& options);

// Python's json.dumps(x, ensure_ascii=False[, indent=N]) — what the templates' tojson prints.
std::string PyJsonDumps(const nlohmann::ordered_json& value, int indent = 0);

}  // namespace seekd::chat
