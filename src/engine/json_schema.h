// The JSON Schema subset JSON mode enforces, compiled into a flat list of nodes the matcher in
// json_constraint.cc walks (internal to the engine).
//
// Thread-safety: compiled nodes are immutable and shared.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/status.h"

namespace seekd::engine {

struct JsonSchemaNode {
  enum Kind : uint8_t {
    kAny,
    kObject,
    kArray,
    kString,
    kNumber,
    kInteger,
    kBoolean,
    kNull,
    kEnum,
    kAnyOf
  };
  Kind kind = kAny;
  // kObject
  std::vector<std::string> props;
  std::vector<int> prop_nodes;
  uint64_t required = 0;  // bit i: props[i] is required
  bool additional = true;
  int additional_node = 0;
  // kArray
  int items = 0;
  int64_t min_items = 0, max_items = std::numeric_limits<int64_t>::max();
  // kEnum: the allowed values, as compact JSON text
  std::vector<std::string> values;
  // kAnyOf
  std::vector<int> options;
};

// Nodes every compiled list starts with: any value, any object, any array.
inline constexpr int kAnyNode = 0, kAnyObjectNode = 1, kAnyArrayNode = 2;

// Appends `schema`'s nodes to *nodes (which holds the three fixed nodes) and returns its root.
// InvalidArgument names what the matcher cannot use.
Result<int> CompileJsonSchema(const nlohmann::json& schema, std::vector<JsonSchemaNode>* nodes);

}  // namespace seekd::engine
