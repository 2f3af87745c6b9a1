#include "engine/json_schema.h"

#include <algorithm>
#include <map>

namespace seekd::engine {

namespace {

using json = nlohmann::json;
using Node = JsonSchemaNode;

class SchemaCompiler {
 public:
  SchemaCompiler(const json& root, std::vector<Node>* nodes) : root_(root), nodes_(*nodes) {}

  Result<int> Compile(const json& s, int depth) {
    if (depth > 32) return InvalidArgument("json_schema nests deeper than 32 levels");
    if (s.is_boolean()) {
      if (!s.get<bool>()) return InvalidArgument("json_schema `false` matches nothing");
      return kAnyNode;
    }
    if (!s.is_object()) return InvalidArgument("a json_schema must be an object");
    if (auto ref = s.find("$ref"); ref != s.end()) {
      if (!ref->is_string()) return InvalidArgument("$ref must be a string");
      const std::string r = ref->get<std::string>();
      if (auto it = refs_.find(r); it != refs_.end()) return it->second;
      std::string name;
      const json* defs = nullptr;
      for (const char* prefix : {"#/$defs/", "#/definitions/"}) {
        const std::string p = prefix;
        if (r.rfind(p, 0) == 0) {
          name = r.substr(p.size());
          auto d = root_.find(p.substr(2, p.size() - 3));
          if (d != root_.end() && d->is_object()) defs = &*d;
        }
      }
      if (!defs || !defs->contains(name))
        return InvalidArgument("$ref " + r + " does not name an entry of $defs/definitions");
      const int at = New();
      refs_[r] = at;
      SEEKD_ASSIGN_OR_RETURN(int target, Compile((*defs)[name], depth + 1));
      nodes_[static_cast<size_t>(at)] = Node{};
      nodes_[static_cast<size_t>(at)].kind = Node::kAnyOf;
      nodes_[static_cast<size_t>(at)].options = {target};
      return at;
    }
    if (auto c = s.find("const"); c != s.end()) return Enum({*c});
    if (auto e = s.find("enum"); e != s.end()) {
      if (!e->is_array() || e->empty()) return InvalidArgument("enum must be a non-empty list");
      return Enum(std::vector<json>(e->begin(), e->end()));
    }
    for (const char* k : {"anyOf", "oneOf"}) {
      if (auto a = s.find(k); a != s.end()) {
        if (!a->is_array() || a->empty())
          return InvalidArgument(std::string(k) + " must be a non-empty list");
        Node n;
        n.kind = Node::kAnyOf;
        for (const auto& sub : *a) {
          SEEKD_ASSIGN_OR_RETURN(int o, Compile(sub, depth + 1));
          n.options.push_back(o);
        }
        return Add(std::move(n));
      }
    }
    if (auto t = s.find("type"); t != s.end()) {
      if (t->is_array()) {
        Node n;
        n.kind = Node::kAnyOf;
        for (const auto& one : *t) {
          json copy = s;
          copy["type"] = one;
          SEEKD_ASSIGN_OR_RETURN(int o, Compile(copy, depth + 1));
          n.options.push_back(o);
        }
        if (n.options.empty()) return InvalidArgument("type must not be an empty list");
        return Add(std::move(n));
      }
      if (!t->is_string()) return InvalidArgument("type must be a string or a list");
      const std::string type = t->get<std::string>();
      if (type == "object") return Object(s, depth);
      if (type == "array") return Array(s, depth);
      Node n;
      if (type == "string") {
        n.kind = Node::kString;
      } else if (type == "number") {
        n.kind = Node::kNumber;
      } else if (type == "integer") {
        n.kind = Node::kInteger;
      } else if (type == "boolean") {
        n.kind = Node::kBoolean;
      } else if (type == "null") {
        n.kind = Node::kNull;
      } else {
        return InvalidArgument("unknown type \"" + type + "\" in json_schema");
      }
      return Add(std::move(n));
    }
    if (s.contains("properties")) return Object(s, depth);
    if (s.contains("items")) return Array(s, depth);
    return kAnyNode;
  }

 private:
  int New() {
    nodes_.emplace_back();
    return static_cast<int>(nodes_.size() - 1);
  }
  int Add(Node n) {
    nodes_.push_back(std::move(n));
    return static_cast<int>(nodes_.size() - 1);
  }
  Result<int> Enum(const std::vector<json>& values) {
    Node n;
    n.kind = Node::kEnum;
    for (const auto& v : values) n.values.push_back(v.dump(-1, ' ', false));
    return Add(std::move(n));
  }
  Result<int> Object(const json& s, int depth) {
    Node n;
    n.kind = Node::kObject;
    if (auto p = s.find("properties"); p != s.end()) {
      if (!p->is_object()) return InvalidArgument("properties must be an object");
      if (p->size() > 64) return InvalidArgument("json_schema: at most 64 properties per object");
      for (const auto& [name, sub] : p->items()) {
        for (char ch : name)
          if (ch == '"' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20)
            return InvalidArgument(
                "json_schema: property names with quotes, backslashes or "
                "control characters are not supported");
        SEEKD_ASSIGN_OR_RETURN(int o, Compile(sub, depth + 1));
        n.props.push_back(name);
        n.prop_nodes.push_back(o);
      }
    }
    if (auto r = s.find("required"); r != s.end()) {
      if (!r->is_array()) return InvalidArgument("required must be a list");
      for (const auto& name : *r) {
        if (!name.is_string()) return InvalidArgument("required must list strings");
        auto it = std::find(n.props.begin(), n.props.end(), name.get<std::string>());
        if (it == n.props.end())
          return InvalidArgument("required names " + name.get<std::string>() +
                                 ", which is not in properties");
        n.required |= 1ull << (it - n.props.begin());
      }
    }
    if (auto a = s.find("additionalProperties"); a != s.end()) {
      if (a->is_boolean()) {
        n.additional = a->get<bool>();
      } else {
        SEEKD_ASSIGN_OR_RETURN(n.additional_node, Compile(*a, depth + 1));
      }
    }
    return Add(std::move(n));
  }
  Result<int> Array(const json& s, int depth) {
    Node n;
    n.kind = Node::kArray;
    if (auto it = s.find("items"); it != s.end()) {
      SEEKD_ASSIGN_OR_RETURN(n.items, Compile(*it, depth + 1));
    }
    if (auto m = s.find("minItems"); m != s.end() && m->is_number_integer())
      n.min_items = m->get<int64_t>();
    if (auto m = s.find("maxItems"); m != s.end() && m->is_number_integer())
      n.max_items = m->get<int64_t>();
    if (n.min_items > n.max_items) return InvalidArgument("minItems is above maxItems");
    return Add(std::move(n));
  }

  const json& root_;
  std::vector<Node>& nodes_;
  std::map<std::string, int> refs_;
};

}  // namespace

Result<int> CompileJsonSchema(const nlohmann::json& schema, std::vector<JsonSchemaNode>* nodes) {
  SchemaCompiler sc(schema, nodes);
  return sc.Compile(schema, 0);
}

}  // namespace seekd::engine
