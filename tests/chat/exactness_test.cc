// Byte-exactness of the built-in renderers against the real Jinja templates. The reference
// output is rendered at test time by render_reference.py (Python's Jinja2) into
// SEEKD_CHATREF_JSON; nothing here is hand-copied.
#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include "chat/chat_template.h"
#include "core/mapped_file.h"

namespace seekd::chat {
namespace {

using ojson = nlohmann::ordered_json;

std::string FirstDifference(const std::string& a, const std::string& b) {
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  const size_t from = i > 40 ? i - 40 : 0;
  return "first difference at byte " + std::to_string(i) + "\n  seekd:  ..." + a.substr(from, 100) +
         "\n  jinja2: ..." + b.substr(from, 100);
}

TEST(ChatExactnessTest, EveryCaseMatchesTheRealTemplate) {
  const char* path = std::getenv("SEEKD_CHATREF_JSON");
  if (!path) GTEST_SKIP() << "run through ctest (needs the Jinja2 reference)";
  auto text = ReadFileToString(path);
  ASSERT_TRUE(text.ok()) << text.status().ToString();
  const ojson cases = ojson::parse(*text);
  std::map<std::string, int> per_template;
  int failures = 0;
  for (const auto& c : cases) {
    auto id = TemplateFromName(c["template"].get<std::string>());
    ASSERT_TRUE(id.ok());
    RenderOptions o;
    o.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    if (c.contains("tools")) o.tools = c["tools"];
    if (c.contains("thinking")) o.thinking = c["thinking"].get<bool>();
    if (c.contains("bos_token")) o.bos_token = c["bos_token"].get<std::string>();
    if (c.contains("date_string")) o.date_string = c["date_string"].get<std::string>();
    auto got = Render(*id, c["messages"], o);
    ASSERT_TRUE(got.ok()) << got.status().ToString() << "\n" << c["messages"].dump();
    const std::string want = c["expected"].get<std::string>();
    if (*got != want && ++failures <= 5)
      ADD_FAILURE() << c["template"].get<std::string>() << ": " << FirstDifference(*got, want)
                    << "\n  messages: " << c["messages"].dump();
    ++per_template[c["template"].get<std::string>()];
  }
  EXPECT_EQ(failures, 0);
  for (auto name : TemplateNames()) EXPECT_GE(per_template[std::string(name)], 30) << name;
}

// Recognition is tried on every fixture: the ones seekd renders are recognized as themselves,
// the others (different rendering rules) are not claimed.
TEST(ChatExactnessTest, RecognizesEachFixture) {
  const std::string dir = SEEKD_CHAT_FIXTURES;
  const std::map<std::string, std::optional<TemplateId>> want = {
      {"deepseek-ai-DeepSeek-V3.jinja", TemplateId::kDeepSeekV3},
      {"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", TemplateId::kR1DistillQwen},
      {"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja", TemplateId::kR1DistillLlama},
      {"Qwen-Qwen2.5-7B-Instruct.jinja", TemplateId::kQwen25},
      {"deepseek-ai-DeepSeek-V3.1.jinja", TemplateId::kDeepSeekV31},
      {"deepseek-ai-DeepSeek-V3.2.jinja", std::nullopt},
      {"deepseek-ai-DeepSeek-V4.jinja", std::nullopt},
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", TemplateId::kLlama31},
  };
  for (const auto& [file, id] : want) {
    auto src = ReadFileToString(dir + "/" + file);
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    EXPECT_EQ(RecognizeTemplate(*src), id) << file;
  }
  for (const auto& [file, id] : std::map<std::string, TemplateId>{
           {"deepseek-llm-chat.jinja", TemplateId::kDeepSeekLlm},
           {"deepseek-coder-instruct.jinja", TemplateId::kDeepSeekCoder}}) {
    auto src = ReadFileToString(std::string(SEEKD_CHAT_SEEKD_WRITTEN) + "/" + file);
    ASSERT_TRUE(src.ok()) << src.status().ToString();
    EXPECT_EQ(RecognizeTemplate(*src), id) << file;
  }
  EXPECT_EQ(RecognizeTemplate("{{ messages }}"), std::nullopt);
  EXPECT_EQ(RecognizeTemplate(""), std::nullopt);
}

}  // namespace
}  // namespace seekd::chat
