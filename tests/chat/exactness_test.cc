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
  auto fail = [&](const ojson& c, const std::string& what) {
    if (++failures <= 5)
      ADD_FAILURE() << c["template"].get<std::string>() << ": " << what
                    << "\n  messages: " << c["messages"].dump();
  };
  for (const auto& c : cases) {
    const std::string name = c["template"].get<std::string>();
    auto id = TemplateFromName(name);
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    RenderOptions o;  // bos/eos stay "" unless the case overrides them: the defaults are tested
    o.add_generation_prompt = c["add_generation_prompt"].get<bool>();
    if (c.contains("tools")) o.tools = c["tools"];
    o.thinking = c.value("thinking", false);
    o.bos_token = c.value("bos_token", "");
    o.date_string = c.value("date_string", "");
    auto got = Render(*id, c["messages"], o);
    if (c.contains("expect_error")) {
      // Jinja raised (or the messages are invalid): seekd must refuse too, with a message.
      if (got.ok())
        fail(c, "rendered, but the reference refused: " + c["expect_error"].get<std::string>());
      else if (got.status().message().empty())
        fail(c, "error without a message");
      continue;
    }
    if (!got.ok()) {
      fail(c, "refused (" + got.status().ToString() + ") what Jinja2 renders");
      continue;
    }
    const std::string want = c["expected"].get<std::string>();
    if (*got != want) fail(c, FirstDifference(*got, want));
    ++per_template[name];
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
  std::string noise;
  for (int i = 0; i < 4096; ++i) noise.push_back(static_cast<char>((i * 7919 + 13) % 256));
  EXPECT_EQ(RecognizeTemplate(noise), std::nullopt);
}

std::string Replaced(std::string s, const std::string& from, const std::string& to) {
  const size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  if (p != std::string::npos) s.replace(p, from.size(), to);
  return s;
}

// Revisions that change the rendered bytes must not be claimed; ones that do not still are.
TEST(ChatExactnessTest, RecognitionRefusesChangedRevisions) {
  const std::string dir = SEEKD_CHAT_FIXTURES;
  auto read = [&](const char* f) {
    auto r = ReadFileToString(dir + "/" + f);
    return r.ok() ? *r : std::string();
  };
  const std::string v3 = read("deepseek-ai-DeepSeek-V3.jinja");
  const std::string llama = read("deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja");
  const std::string qwen = read("deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja");
  // V3 with the tool-call block closed once after the loop (the quirk fixed).
  EXPECT_EQ(RecognizeTemplate(Replaced(
                v3, "'<｜tool▁call▁end｜>'}}{{'<｜tool▁calls▁end｜><｜end▁of▁sentence｜>'}}",
                "'<｜tool▁call▁end｜>'}}")),
            std::nullopt);
  // V3 generating with an opened think block (an R1-style revision).
  EXPECT_EQ(RecognizeTemplate(Replaced(v3, "{{'<｜Assistant｜>'}}{% endif %}",
                                       "{{'<｜Assistant｜><think>\\n'}}{% endif %}")),
            std::nullopt);
  // Distill-Llama joining every system prompt like V3 does.
  EXPECT_EQ(
      RecognizeTemplate(Replaced(llama, "set ns.system_prompt = message['content']",
                                 "set ns.system_prompt = ns.system_prompt + message['content']") +
                        "{# is_first_sp #}"),
      std::nullopt);
  // Distill-Qwen that keeps thinking on unless told otherwise.
  EXPECT_EQ(RecognizeTemplate(Replaced(qwen, "{% if not enable_thinking %}",
                                       "{% if enable_thinking is false %}")),
            std::nullopt);
  // Appending a comment changes nothing that is rendered.
  EXPECT_EQ(RecognizeTemplate(v3 + "{# local note #}"), TemplateId::kDeepSeekV3);
}

}  // namespace
}  // namespace seekd::chat
