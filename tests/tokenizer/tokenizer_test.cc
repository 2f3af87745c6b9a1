// Unit tests of the tokenizer's parts with small hand-made vocabularies.
#include <gtest/gtest.h>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace seekd::tok {
namespace {

std::vector<std::string> Pieces(const PreTokenizer& p, std::string_view text) {
  std::vector<std::string_view> v;
  p.Split(text, &v);
  return {v.begin(), v.end()};
}

TEST(Utf8Test, SanitizeFollowsWhatwg) {
  EXPECT_EQ(SanitizeUtf8("abc"), "abc");
  EXPECT_EQ(SanitizeUtf8("\xff"), "\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("\xc0\x80"), "\xef\xbf\xbd\xef\xbf\xbd");  // overlong: two errors
  EXPECT_EQ(SanitizeUtf8("\xe2\x82"), "\xef\xbf\xbd");              // truncated: one error
  EXPECT_EQ(SanitizeUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");  // surrogate
  EXPECT_EQ(SanitizeUtf8("\xe6\x97\xa5\xe6"), "日\xef\xbf\xbd");
  EXPECT_EQ(SanitizeUtf8("\xe2\x82"
                         "a"),
            "\xef\xbf\xbd"
            "a");
  EXPECT_TRUE(IsValidUtf8("日本 \xef\xbf\xbd"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));
}

TEST(Utf8Test, ByteMapIsABijection) {
  EXPECT_EQ(ByteToUnicode()[' '], "Ġ");
  EXPECT_EQ(ByteToUnicode()['\n'], "Ċ");
  EXPECT_EQ(ByteToUnicode()['a'], "a");
  for (int b = 0; b < 256; ++b) {
    const std::string& s = ByteToUnicode()[b];
    uint32_t cp = s.size() == 1 ? static_cast<uint8_t>(s[0])
                                : ((static_cast<uint8_t>(s[0]) & 0x1f) << 6) |
                                      (static_cast<uint8_t>(s[1]) & 0x3f);
    EXPECT_EQ(UnicodeToByte(cp), b);
  }
}

TEST(Utf8Test, NfcComposes) { EXPECT_EQ(Nfc("e\xcc\x81"), "é"); }

TEST(PreTokenizerTest, JsWhitespaceIsNotPcreWhitespace) {
  // JS \s includes U+FEFF and excludes U+0085; the translation must follow JS.
  auto p = PreTokenizer::Create({"\\s+"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Pieces(*p,
                   "a\xef\xbb\xbf"
                   "b"),
            (std::vector<std::string>{"a", "\xef\xbb\xbf", "b"}));
  EXPECT_EQ(Pieces(*p,
                   "a\xc2\x85"
                   "b"),
            (std::vector<std::string>{"a\xc2\x85"
                                      "b"}));
  EXPECT_NE(PreTokenizer::TranslateJsPattern("[^\\s\\p{L}]").find("\\x{feff}"), std::string::npos);
}

TEST(PreTokenizerTest, DeepSeekV3Splits) {
  auto regexes = SplitRegexesForPre("deepseek-v3");
  ASSERT_TRUE(regexes.ok());
  auto p = PreTokenizer::Create(*regexes);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Pieces(*p, "1234567"), (std::vector<std::string>{"123", "456", "7"}));
  EXPECT_EQ(Pieces(*p, "Hello, world"), (std::vector<std::string>{"Hello", ",", " world"}));
  EXPECT_EQ(Pieces(*p, "你好abc"), (std::vector<std::string>{"你好", "abc"}));
  EXPECT_EQ(Pieces(*p, "a  \n\nb"), (std::vector<std::string>{"a", "  \n\n", "b"}));
  EXPECT_FALSE(SplitRegexesForPre("no-such-pre").ok());
  for (const char* name : {"deepseek-llm", "deepseek-coder", "qwen2", "llama-bpe", "gpt2"})
    EXPECT_TRUE(PreTokenizer::Create(*SplitRegexesForPre(name)).ok()) << name;
}

TEST(PreTokenizerTest, DeepSeekLlmSplits) {
  auto p = PreTokenizer::Create(*SplitRegexesForPre("deepseek-llm"));
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(Pieces(*p, "Hello world, 2024!"),
            (std::vector<std::string>{"Hello", " world", ",", " ", "2", "0", "2", "4", "!"}));
  EXPECT_EQ(Pieces(*p, "你好世界ok\n"), (std::vector<std::string>{"你好世界", "ok", "\n"}));
  EXPECT_EQ(Pieces(*p, " \xce\xb1\xce\xb2 abc"),
            (std::vector<std::string>{" \xce\xb1\xce\xb2", " abc"}));
  // U+1F7D (Greek, with a canonical singleton decomposition) belongs to the letter class itself;
  // the later CJK step (U+0800–U+4E00) then isolates it, as the rule list says.
  auto letters = PreTokenizer::Create({(*SplitRegexesForPre("deepseek-llm"))[1]});
  ASSERT_TRUE(letters.ok());
  EXPECT_EQ(Pieces(*letters, " \xe1\xbd\xbd\xce\xb1"),
            (std::vector<std::string>{" \xe1\xbd\xbd\xce\xb1"}));
  EXPECT_EQ(Pieces(*p, " \xe1\xbd\xbd\xce\xb1"),
            (std::vector<std::string>{" ", "\xe1\xbd\xbd", "\xce\xb1"}));
}

TEST(PreTokenizerTest, UnicodeFifteenCjkIsALetter) {
  // U+31404 (CJK Extension H, Unicode 15) is a letter to the reference; PCRE2 10.42 predates it.
  auto p = PreTokenizer::Create({"\\p{L}+|[^\\p{L}]+"});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Pieces(*p,
                   "a\xf0\xb1\x90\x84"
                   "b'"),
            (std::vector<std::string>{"a\xf0\xb1\x90\x84"
                                      "b",
                                      "'"}));
}

TEST(PreTokenizerTest, BadRegexIsAClearError) {
  auto p = PreTokenizer::Create({"(unclosed"});
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("(unclosed"), std::string::npos);
}

// A tiny byte-level vocabulary: the 256 byte tokens, merges "a b" → "ab", "ab c" → "abc".
VocabSpec TinySpec() {
  VocabSpec s;
  s.pre = "gpt2";
  for (int b = 0; b < 256; ++b) s.tokens.push_back(ByteToUnicode()[b]);
  s.tokens.push_back("ab");
  s.tokens.push_back("abc");
  s.tokens.push_back("<|end|>");
  s.token_types.assign(s.tokens.size(), kTokenNormal);
  s.token_types.back() = kTokenControl;
  s.merges = {"a b", "ab c"};
  s.eos_id = 258;
  return s;
}

TEST(TokenizerTest, MergesByRank) {
  auto t = Tokenizer::Create(TinySpec());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->Encode("abc"), (std::vector<int32_t>{257}));
  EXPECT_EQ(t->Encode("abab"), (std::vector<int32_t>{256, 256}));
  EXPECT_EQ(t->Encode("cab"), (std::vector<int32_t>{'c', 256}));
  EXPECT_EQ(t->Encode("x<|end|>y"), (std::vector<int32_t>{'x', 258, 'y'}));
  EXPECT_EQ(t->Decode(t->Encode("abc ab\n")), "abc ab\n");
}

TEST(TokenizerTest, MalformedSpecsAreClearErrors) {
  VocabSpec s = TinySpec();
  s.merges.push_back("zz q");
  EXPECT_NE(Tokenizer::Create(s).status().message().find("not in the vocabulary"),
            std::string::npos);
  s = TinySpec();
  s.merges.push_back("nospace");
  EXPECT_FALSE(Tokenizer::Create(s).ok());
  s = TinySpec();
  s.token_types.pop_back();
  EXPECT_FALSE(Tokenizer::Create(s).ok());
  s = TinySpec();
  s.bos_id = 100000;
  EXPECT_FALSE(Tokenizer::Create(s).ok());
  s = TinySpec();
  s.model = "llama";
  EXPECT_EQ(Tokenizer::Create(s).status().code(), StatusCode::kUnsupported);
  s = TinySpec();
  s.pre = "mystery";
  EXPECT_FALSE(Tokenizer::Create(s).ok());
}

TEST(TokenizerTest, MalformedTokenizerJsonIsAClearError) {
  EXPECT_FALSE(VocabSpecFromHf("{not json", "").ok());
  EXPECT_FALSE(VocabSpecFromHf("{}", "").ok());
  EXPECT_FALSE(VocabSpecFromHf(R"({"model": {"type": "Unigram", "vocab": []}})", "").ok());
  auto r = VocabSpecFromHf(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
                               "pre_tokenizer": {"type": "Whitespace"}})",
                           "");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("Whitespace"), std::string::npos);
  EXPECT_FALSE(LoadHfTokenizer("/nonexistent/tokenizer.json").ok());
}

TEST(TokenizerTest, HostileTokenizerJsonIdsAreRejected) {
  const std::string model = R"("model": {"type": "BPE", "vocab": {"a": 0}, "merges": []})";
  auto neg = VocabSpecFromHf(
      "{" + model + R"(, "added_tokens": [{"id": -1, "content": "<x>", "special": true}]})", "");
  ASSERT_FALSE(neg.ok());
  EXPECT_NE(neg.status().message().find("has id -1"), std::string::npos);
  EXPECT_FALSE(
      VocabSpecFromHf("{" + model + R"(, "added_tokens": [{"id": 1e15, "content": "<x>"}]})", "")
          .ok());
  EXPECT_FALSE(VocabSpecFromHf("{" + model + R"(, "added_tokens": {"id": 3}})", "").ok());
  EXPECT_FALSE(
      VocabSpecFromHf(R"({"model": {"type": "BPE", "vocab": {"a": -5}, "merges": []}})", "").ok());
  EXPECT_FALSE(
      VocabSpecFromHf(R"({"model": {"type": "BPE", "vocab": {"a": "x"}, "merges": []}})", "").ok());
  EXPECT_FALSE(
      VocabSpecFromHf(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": [7]}})", "").ok());
  auto strip = VocabSpecFromHf(
      "{" + model +
          R"(, "added_tokens": [{"id": 1, "content": "<x>", "special": true, "lstrip": true}]})",
      "");
  ASSERT_FALSE(strip.ok());
  EXPECT_EQ(strip.status().code(), StatusCode::kUnsupported);
}

TEST(TokenizerTest, HfDigitsSplitEveryNumericCharacter) {
  auto spec = VocabSpecFromHf(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": []},
      "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Digits", "individual_digits": true},
        {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]}})",
                              "");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto p = PreTokenizer::Create(spec->pre_split_regexes);
  ASSERT_TRUE(p.ok());
  // Arabic-Indic digits and circled numbers are numeric (Nd, No) like ASCII digits.
  EXPECT_EQ(Pieces(*p, "x12\xd9\xa3\xe2\x91\xa0"),
            (std::vector<std::string>{"x", "1", "2", "\xd9\xa3", "\xe2\x91\xa0"}));
}

TEST(PreTokenizerTest, ContractionsAreAsciiCaseless) {
  for (const char* name : {"qwen2", "llama-bpe"}) {
    auto p = PreTokenizer::Create(*SplitRegexesForPre(name));
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(Pieces(*p, "it'S we'Ll"), (std::vector<std::string>{"it", "'S", " we", "'Ll"}))
        << name;
    // U+017F LATIN SMALL LETTER LONG S folds to 's' but is not a contraction here.
    EXPECT_EQ(Pieces(*p, "x'\xc5\xbf"), (std::vector<std::string>{"x", "'\xc5\xbf"})) << name;
  }
  // The same group written the tokenizer.json way is rewritten to the same thing.
  auto hf = PreTokenizer::Create({"(?i:'s|'t|'re|'ve|'m|'ll|'d)|\\p{L}+"});
  ASSERT_TRUE(hf.ok());
  EXPECT_EQ(Pieces(*hf, "x'\xc5\xbf"), (std::vector<std::string>{"x", "'", "\xc5\xbf"}));
  EXPECT_EQ(Pieces(*hf, "x'S"), (std::vector<std::string>{"x", "'S"}));
}

}  // namespace
}  // namespace seekd::tok
