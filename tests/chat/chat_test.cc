#include <gtest/gtest.h>

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
}

}  // namespace
}  // namespace seekd::chat
