// JSON mode: constrains decoding so that the output is valid JSON (OpenAI's `json_object`:
// one object) or valid JSON that matches a JSON Schema (`json_schema`). Before each sample,
// every token whose bytes cannot continue a valid prefix is masked out; once the value is
// complete only the stop tokens remain, so generation ends there.
//
// The matcher reads bytes with a pushdown automaton. The schema subset it enforces:
//   type (one or a list), properties, required, additionalProperties (false or a schema),
//   items, minItems, maxItems, enum, const, anyOf, oneOf (as anyOf), $ref to #/$defs/… or
//   #/definitions/…, and nested combinations of these. Numbers keep to 15 integer and 15
//   fraction digits and two exponent digits, so every output parses as a finite double. Keywords
//   outside the subset (pattern, minLength, format, minimum, …) are accepted and not enforced;
//   docs/design/json-mode.md lists them.
//
// The same machinery forces tool calls (tool_choice): each alternative is a literal prefix (the
// model's tool-call header for one function), a JSON value (its parameters schema) and a
// literal suffix (the call's end markers); the output must be one of them.
//
// Thread-safety: a JsonVocab is immutable and shared; a JsonConstraint belongs to one sequence.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "tokenizer/tokenizer.h"

namespace seekd::engine {

// The vocabulary, prepared once per tokenizer for fast masking.
class JsonVocab {
 public:
  explicit JsonVocab(const tok::Tokenizer& tok);
  size_t size() const { return bytes_.size(); }

 private:
  friend class JsonConstraint;
  std::vector<std::string> bytes_;              // id → raw bytes ("" for special tokens)
  std::vector<uint8_t> string_safe_;            // no quote, backslash or control byte
  std::vector<std::vector<int32_t>> by_first_;  // first byte → ids
  std::vector<int32_t> string_unsafe_;          // non-special ids that are not string-safe
};

struct JsonSchemaNode;  // compiled schema (json_constraint.cc)

class JsonConstraint {
 public:
  // schema: nullptr for json_object (any JSON object). InvalidArgument names what is wrong
  // with a schema the matcher cannot use.
  static Result<std::unique_ptr<JsonConstraint>> Create(std::shared_ptr<const JsonVocab> vocab,
                                                        const nlohmann::json* schema,
                                                        std::vector<int32_t> stop_tokens);
  struct Alternative {
    std::string prefix;
    const nlohmann::json* schema = nullptr;  // nullptr: any JSON object
    std::string suffix;
  };
  // The output is prefix + value + suffix of one of the alternatives.
  static Result<std::unique_ptr<JsonConstraint>> Create(std::shared_ptr<const JsonVocab> vocab,
                                                        const std::vector<Alternative>& alts,
                                                        std::vector<int32_t> stop_tokens);
  ~JsonConstraint();

  // Sets the logits of tokens that cannot come next to -infinity.
  void Mask(std::span<float> logits);
  // Advances over a sampled token (one that Mask allowed).
  void Accept(int32_t token);
  // The value is complete.
  bool done() const;

  // Byte-level access for tests: whether `text` can continue the output, and feeding it.
  bool CanFeed(std::string_view text) const;
  bool Feed(std::string_view text);

  struct Matcher;

 private:
  JsonConstraint() = default;
  std::shared_ptr<const JsonVocab> vocab_;
  std::vector<int32_t> stop_tokens_;
  std::shared_ptr<const std::vector<JsonSchemaNode>> nodes_;
  std::shared_ptr<const void> alts_;  // the compiled alternatives (json_constraint.cc)
  std::unique_ptr<Matcher> m_;
  std::vector<uint8_t> allowed_;  // scratch
};

}  // namespace seekd::engine
