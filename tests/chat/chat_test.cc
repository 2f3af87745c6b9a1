#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "chat/chat_template.h"

namespace seekd::chat {
namespace {

using ojson = nlohmann::ordered_json;

TEST(ChatTest, BadMessagesAreClearErrors) {
  RenderOptions o;
  auto err = [&](const char* json) {
    auto r = Render(TemplateId::kDeepSeekV3, ojson::parse(json), o);
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_NE(err("{}").find("array"), std::string::npos);
  EXPECT_NE(err("[]").find("empty"), std::string::npos);
  EXPECT_NE(err(R"([{"role": "wizard", "content": "x"}])").find("wizard"), std::string::npos);
  EXPECT_NE(err(R"([{"content": "x"}])").find("role"), std::string::npos);
  EXPECT_NE(err(R"([{"role": "user"}])").find("content"), std::string::npos);
  EXPECT_NE(err(R"([{"role": "user", "content": 5}])").find("content"), std::string::npos);
  EXPECT_NE(err(R"([{"role": "user", "content": [{"type": "image_url"}]}])").find("text"),
            std::string::npos);
  EXPECT_NE(err(R"([{"role": "assistant", "content": null}])").find("tool_calls"),
            std::string::npos);
  EXPECT_NE(
      err(R"([{"role": "assistant", "content": null, "tool_calls": [{"function": {"name": "f"}}]}])")
          .find("arguments"),
      std::string::npos);
}

TEST(ChatTest, NamesAndUnknownTemplateError) {
  EXPECT_EQ(*TemplateFromName("qwen2.5"), TemplateId::kQwen25);
  auto bad = TemplateFromName("chatml-9");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("deepseek-v3"), std::string::npos);
  EXPECT_NE(UnknownTemplateError().message().find("--template"), std::string::npos);
}

TEST(ChatTest, PyJsonDumpsMatchesPython) {
  // Expected strings are what Python's json.dumps(x, ensure_ascii=False) prints.
  EXPECT_EQ(PyJsonDumps(ojson::parse(R"({"b": [1, 2.5, true, null], "a": "x\ny\"é"})")),
            R"({"b": [1, 2.5, true, null], "a": "x\ny\"é"})");
  EXPECT_EQ(PyJsonDumps(ojson("\x01\x7f")), "\"\\u0001\x7f\"");
  EXPECT_EQ(PyJsonDumps(ojson(1.0)), "1.0");
  EXPECT_EQ(PyJsonDumps(ojson(1e-7)), "1e-07");
  EXPECT_EQ(PyJsonDumps(ojson(0.1)), "0.1");
  EXPECT_EQ(PyJsonDumps(ojson::object()), "{}");
  // Python's repr switches to exponent form below 1e-4 and from 1e16 on.
  for (auto [v, want] :
       std::vector<std::pair<double, const char*>>{{1e5, "100000.0"},
                                                   {1e15, "1000000000000000.0"},
                                                   {1e16, "1e+16"},
                                                   {1.5e300, "1.5e+300"},
                                                   {1e-4, "0.0001"},
                                                   {1e-5, "1e-05"},
                                                   {-2.5e-7, "-2.5e-07"},
                                                   {123.456, "123.456"},
                                                   {-0.0, "-0.0"},
                                                   {0.30000000000000004, "0.30000000000000004"},
                                                   {1.0 / 3, "0.3333333333333333"}})
    EXPECT_EQ(PyJsonDumps(ojson(v)), want) << v;
  // indent=4 as Llama-3.1 prints its tools: one item per line, ", " becomes ","
  EXPECT_EQ(PyJsonDumps(ojson::parse(R"({"a": [1, {}], "b": {"c": null}})"), 4),
            "{\n    \"a\": [\n        1,\n        {}\n    ],\n    \"b\": {\n        \"c\": null\n  "
            "  }\n}");
}

TEST(ChatTest, PerTemplateTokensAreDefaults) {
  const ojson msgs = ojson::parse(R"([{"role": "user", "content": "hi"}])");
  EXPECT_EQ(
      *Render(TemplateId::kLlama31, msgs, {}),
      "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: "
      "December 2023\nToday Date: 26 Jul 2024\n\n<|eot_id|><|start_header_id|>user"
      "<|end_header_id|>\n\nhi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(DefaultBosToken(TemplateId::kQwen25), "");
  EXPECT_EQ(DefaultEosToken(TemplateId::kDeepSeekCoder), "<|EOT|>");
  RenderOptions o;
  o.bos_token = "<s>";
  o.eos_token = "</s>";
  const ojson two =
      ojson::parse(R"([{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}])");
  EXPECT_EQ(*Render(TemplateId::kDeepSeekLlm, two, o), "<s>User: a\n\nAssistant: b</s>Assistant:");
}

// Tool calls must have the shape each template indexes; Qwen2.5 alone accepts a flat call.
TEST(ChatTest, ToolCallShapes) {
  const ojson flat = ojson::parse(R"([{"role": "user", "content": "q"},
      {"role": "assistant", "content": null, "tool_calls": [{"name": "f", "arguments": {"x": 1}}]}])");
  auto qwen = Render(TemplateId::kQwen25, flat, {});
  ASSERT_TRUE(qwen.ok()) << qwen.status().ToString();
  EXPECT_NE(qwen->find("{\"name\": \"f\", \"arguments\": {\"x\": 1}}"), std::string::npos);
  EXPECT_FALSE(Render(TemplateId::kDeepSeekV31, flat, {}).ok());
  EXPECT_FALSE(Render(TemplateId::kLlama31, flat, {}).ok());
  // V3 concatenates the arguments as text: an object is refused, as Jinja refuses it.
  const ojson object_args = ojson::parse(R"([{"role": "user", "content": "q"},
      {"role": "assistant", "content": null,
       "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]}])");
  auto v3 = Render(TemplateId::kDeepSeekV3, object_args, {});
  ASSERT_FALSE(v3.ok());
  EXPECT_NE(v3.status().message().find("arguments"), std::string::npos);
  auto r1 = Render(TemplateId::kR1DistillQwen, object_args, {});
  ASSERT_TRUE(r1.ok());
  EXPECT_NE(r1->find("f\n```json\n{\"x\": 1}\n```"), std::string::npos);
}

}  // namespace
}  // namespace seekd::chat
