// JSON mode: the byte automaton accepts exactly the valid JSON (and schema-matching) prefixes,
// and masked sampling from random logits always ends in output that parses and matches.
#include "engine/json_constraint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace seekd::engine {
namespace {

using json = nlohmann::json;

// Printable ASCII bytes, whitespace, a few JSON-shaped multi-byte pieces, and a stop token.
tok::Tokenizer JsonishTokenizer(int32_t* stop) {
  tok::VocabSpec spec;
  spec.tokens.push_back("Ġ");  // byte-level BPE writes a space as Ġ
  for (int c = 0x21; c < 0x7f; ++c) spec.tokens.push_back(std::string(1, static_cast<char>(c)));
  for (const char* p : {"Ċ",      "ĉ",   "{\"",     "\":", "\",",  "\"}", "true", "false",
                        "null",   "ĠĠ",  "name",    "age", "tags", "yes", "no",   "12",
                        "-3.5e2", "\\n", "\\u00e9", "},{", "]}",   "[\"", "\"]"})
    spec.tokens.push_back(p);
  spec.tokens.push_back("<eos>");
  spec.token_types.assign(spec.tokens.size(), tok::kTokenNormal);
  spec.token_types.back() = tok::kTokenControl;
  *stop = static_cast<int32_t>(spec.tokens.size() - 1);
  spec.eos_id = *stop;
  auto t = tok::Tokenizer::Create(spec);
  EXPECT_TRUE(t.ok()) << t.status().ToString();
  return std::move(*t);
}

class JsonConstraintTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tok_.emplace(JsonishTokenizer(&stop_));
    vocab_ = std::make_shared<JsonVocab>(*tok_);
  }
  std::unique_ptr<JsonConstraint> Make(const char* schema = nullptr) {
    json s;
    if (schema) s = json::parse(schema);
    auto c = JsonConstraint::Create(vocab_, schema ? &s : nullptr, {stop_});
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return std::move(*c);
  }
  // Whether the whole text is accepted and complete.
  bool Accepts(const char* schema, std::string_view text) {
    auto c = Make(schema);
    return c->Feed(text) && c->done();
  }
  bool AcceptsPrefix(std::string_view text) { return Make()->CanFeed(text); }
  // Whether some prefix of text is rejected (the matcher refuses as soon as it can tell).
  bool RejectsPrefix(const char* schema, std::string_view text) {
    auto c = Make(schema);
    return !c->CanFeed(text);
  }

  std::optional<tok::Tokenizer> tok_;
  int32_t stop_ = -1;
  std::shared_ptr<const JsonVocab> vocab_;
};

TEST_F(JsonConstraintTest, AnyObjectAcceptsValidJsonAndRejectsTheRest) {
  for (const char* ok :
       {"{}", " {\"a\": 1}", "{\"a\":[1,2.5,-3e+2,0.0,true,false,null]}",
        "{\"k\\\"\\u00e9\": \"x\\n\\\\\", \"o\": {\"p\": {}}}", "{\"a\": [], \"b\": [[], [{}]]}"}) {
    EXPECT_TRUE(Accepts(nullptr, ok)) << ok;
    EXPECT_TRUE(json::accept(ok)) << ok;
  }
  // Valid JSON, but not an object.
  EXPECT_TRUE(RejectsPrefix(nullptr, "[1]"));
  EXPECT_TRUE(RejectsPrefix(nullptr, "\"s\""));
  for (const char* bad :
       {"{a", "{\"a\" 1}", "{\"a\":01}", "{\"a\":1,}", "{\"a\":-}", "{\"a\":1.}", "{\"a\":tru ",
        "{\"a\":\"\x01\"}", "{\"a\":\"\\x\"}", "{}}", "{\"a\":[1 2]}"}) {
    EXPECT_TRUE(RejectsPrefix(nullptr, bad)) << bad;
    EXPECT_FALSE(json::accept(bad)) << bad;
  }
  // Strings hold valid UTF-8 only (a character may still be split across tokens).
  EXPECT_TRUE(Accepts(nullptr, "{\"k\u00e9\": \"caf\xC3\xA9 \xE4\xB8\xAD\xF0\x9F\x98\x80\"}"));
  EXPECT_TRUE(AcceptsPrefix("{\"a\": \"\xE4\xB8"));
  for (const char* bad : {"{\"a\": \"\xFF", "{\"a\": \"\xC3(", "{\"a\": \"\xC0\x80",
                          "{\"a\": \"\xED\xA0\x80", "{\"a\": \"\xE0\x80\x80"})
    EXPECT_TRUE(RejectsPrefix(nullptr, bad)) << bad;
  // Escaped surrogates come in pairs.
  EXPECT_TRUE(Accepts(nullptr, "{\"a\": \"\\ud83d\\ude00 \\u00e9\"}"));
  for (const char* bad : {"{\"a\": \"\\uDDDD", "{\"a\": \"\\ud83dx", "{\"a\": \"\\ud83d\\u0041",
                          "{\"a\": \"\\ud83d\\n"})
    EXPECT_TRUE(RejectsPrefix(nullptr, bad)) << bad;
  EXPECT_TRUE(RejectsPrefix(nullptr, "{\"a\": \"\\uDD"));  // no fourth digit could save it
  // A complete object is done; an open one is not.
  EXPECT_FALSE(Accepts(nullptr, "{\"a\": 1"));
  // Blank space is bounded, so a model cannot loop on it.
  EXPECT_TRUE(RejectsPrefix(nullptr, "{" + std::string(100, ' ')));
}

constexpr const char* kPerson = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string"},
    "age": {"type": "integer"},
    "tags": {"type": "array", "items": {"enum": ["yes", "no", 12]}, "maxItems": 2},
    "ok": {"type": ["boolean", "null"]}
  },
  "required": ["name", "age"],
  "additionalProperties": false
})";

TEST_F(JsonConstraintTest, SchemaTypesRequiredEnumsAndLimits) {
  EXPECT_TRUE(Accepts(kPerson, R"({"name": "A", "age": 3})"));
  EXPECT_TRUE(Accepts(kPerson, R"({"age": -12, "name": "", "tags": ["no", 12], "ok": null})"));
  EXPECT_TRUE(Accepts(kPerson, R"({"name": "x", "age": 0, "ok": true, "tags": []})"));
  EXPECT_TRUE(RejectsPrefix(kPerson, R"({"name": "A"})"));                   // age required
  EXPECT_TRUE(RejectsPrefix(kPerson, R"({"name": "A", "age": 1.5)"));        // integer
  EXPECT_TRUE(RejectsPrefix(kPerson, R"({"nick")"));                         // not a property
  EXPECT_TRUE(RejectsPrefix(kPerson, R"({"name": 1)"));                      // string
  EXPECT_TRUE(RejectsPrefix(kPerson, R"({"name": "a", "name")"));            // duplicate
  EXPECT_TRUE(RejectsPrefix(kPerson, R"({"age": 1, "tags": ["maybe")"));     // enum
  EXPECT_TRUE(RejectsPrefix(kPerson, R"({"age": 1, "tags": [12, 12, 12)"));  // maxItems
  EXPECT_TRUE(RejectsPrefix(kPerson, R"({"age": 1, "tags": [123)"));         // 12 is, 123 is not
  EXPECT_TRUE(RejectsPrefix(kPerson, R"({"age": 1, "ok": "yes")"));          // boolean or null
  EXPECT_TRUE(RejectsPrefix(kPerson, R"([)"));
}

TEST_F(JsonConstraintTest, RefsAnyOfAndScalarRoots) {
  const char* tree = R"({"$defs": {"node": {"type": "object",
      "properties": {"v": {"type": "number"}, "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
      "required": ["v"], "additionalProperties": false}},
    "$ref": "#/$defs/node"})";
  EXPECT_TRUE(Accepts(tree, R"({"v": 1, "kids": [{"v": 2}, {"v": 3, "kids": []}]})"));
  EXPECT_TRUE(RejectsPrefix(tree, R"({"v": 1, "kids": [{"w")"));
  const char* either =
      R"({"anyOf": [{"type": "string"}, {"type": "object", "properties": {"a": {"const": 1}}}]})";
  EXPECT_TRUE(Accepts(either, R"("text")"));
  EXPECT_TRUE(Accepts(either, R"({"a": 1})"));
  EXPECT_TRUE(RejectsPrefix(either, R"({"a": 2)"));
  EXPECT_TRUE(RejectsPrefix(either, R"(12)"));
  // A bare number is complete without a following byte.
  EXPECT_TRUE(Accepts(R"({"type": "integer"})", "42"));
  // Schemas the matcher cannot use are refused with a reason.
  json bad = json::parse(R"({"$ref": "#/$defs/missing"})");
  EXPECT_EQ(JsonConstraint::Create(vocab_, &bad, {stop_}).status().code(),
            StatusCode::kInvalidArgument);
  bad = json::parse(R"({"type": "tuple"})");
  EXPECT_EQ(JsonConstraint::Create(vocab_, &bad, {stop_}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(JsonConstraintTest, AlternativesWithLiteralPrefixesAndSuffixes) {
  const json a = json::parse(R"({"type": "object", "properties": {"x": {"type": "integer"}},
                                 "required": ["x"], "additionalProperties": false})");
  const json b = json::parse(R"({"type": "object", "properties": {"y": {"type": "boolean"}},
                                 "required": ["y"], "additionalProperties": false})");
  auto make = [&] {
    auto c = JsonConstraint::Create(
        vocab_, {{"<call>a\n", &a, "\n</call>"}, {"<call>b\n", &b, "\n</call>"}}, {stop_});
    EXPECT_TRUE(c.ok());
    return std::move(*c);
  };
  auto c = make();
  EXPECT_TRUE(c->Feed("<call>a\n{\"x\": 5}"));
  EXPECT_FALSE(c->done());  // the suffix is still missing
  EXPECT_FALSE(c->CanFeed(" "));
  EXPECT_TRUE(c->Feed("\n</call>"));
  EXPECT_TRUE(c->done());
  EXPECT_TRUE(make()->Feed("<call>b\n{\"y\": true}\n</call>"));
  EXPECT_FALSE(make()->CanFeed("<call>a\n{\"y\""));  // b's arguments under a's name
  EXPECT_FALSE(make()->CanFeed("{"));                // no call at all
}

// Samples from random logits under the mask until the stop token; returns the text.
std::string Generate(JsonConstraint& c, const tok::Tokenizer& tk, int32_t stop, uint64_t seed,
                     bool* ended) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> noise(0.0f, 2.0f);
  const size_t V = tk.spec().tokens.size();
  std::vector<float> logits(V);
  std::string out;
  *ended = false;
  for (int step = 0; step < 3000; ++step) {
    for (auto& l : logits) l = noise(rng);
    logits[static_cast<size_t>(stop)] += 8.0f;  // end as soon as it is allowed
    c.Mask(logits);
    // Sample from the softmax of what is left.
    float mx = -INFINITY;
    for (float l : logits) mx = std::max(mx, l);
    std::vector<double> p(V);
    double z = 0;
    for (size_t i = 0; i < V; ++i)
      z += p[i] = std::isinf(logits[i]) ? 0.0 : std::exp(logits[i] - mx);
    std::discrete_distribution<size_t> pick(p.begin(), p.end());
    const auto t = static_cast<int32_t>(pick(rng));
    EXPECT_GT(p[static_cast<size_t>(t)], 0.0);
    if (t == stop) {
      *ended = true;
      return out;
    }
    c.Accept(t);
    out += tk.TokenBytes(t);
  }
  return out;
}

TEST_F(JsonConstraintTest, MaskedRandomSamplingAlwaysParsesAndMatches) {
  int ended = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    auto c = Make(kPerson);
    bool end = false;
    const std::string text = Generate(*c, *tok_, stop_, seed, &end);
    if (!end) continue;
    ++ended;
    const json j = json::parse(text, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << text;
    ASSERT_TRUE(j.is_object()) << text;
    EXPECT_TRUE(j.contains("name") && j["name"].is_string()) << text;
    EXPECT_TRUE(j.contains("age") && j["age"].is_number_integer()) << text;
    for (const auto& [k, v] : j.items()) {
      EXPECT_TRUE(k == "name" || k == "age" || k == "tags" || k == "ok") << text;
      if (k == "tags") {
        EXPECT_LE(v.size(), 2u) << text;
        for (const auto& t : v) EXPECT_TRUE(t == "yes" || t == "no" || t == 12) << text;
      }
      if (k == "ok") EXPECT_TRUE(v.is_boolean() || v.is_null()) << text;
    }
    auto any = Make(nullptr);
    const std::string obj = Generate(*any, *tok_, stop_, seed + 100, &end);
    if (end) {
      std::string why;
      try {
        EXPECT_TRUE(json::parse(obj).is_object()) << obj;
      } catch (const std::exception& e) {
        ADD_FAILURE() << e.what() << " in " << obj;
      }
    }
  }
  EXPECT_GE(ended, 30);  // most walks end well within the step budget
}

}  // namespace
}  // namespace seekd::engine
