// Digests and HMAC against published vectors (FIPS 180-4 examples, RFC 4231), base64url
// against RFC 4648 §10, and the strictness of the decoder.
#include "security/crypto.h"

#include <gtest/gtest.h>

namespace seekd::security {
namespace {

TEST(Crypto, Sha256Vectors) {
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Crypto, HmacSha256Rfc4231) {
  // Test case 2.
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 6: a key longer than the block size.
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEqual("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEqual("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEqual("", "x"));
  EXPECT_TRUE(ConstantTimeEqual("", ""));
}

TEST(Crypto, RandomHexIsFreshEachTime) {
  const std::string a = RandomHex(16), b = RandomHex(16);
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(Crypto, Base64UrlRfc4648) {
  const std::pair<const char*, const char*> cases[] = {
      {"", ""},           {"f", "Zg"},          {"fo", "Zm8"},         {"foo", "Zm9v"},
      {"foob", "Zm9vYg"}, {"fooba", "Zm9vYmE"}, {"foobar", "Zm9vYmFy"}};
  for (const auto& [raw, enc] : cases) {
    EXPECT_EQ(Base64UrlEncode(raw), enc);
    std::string back;
    ASSERT_TRUE(Base64UrlDecode(enc, &back)) << enc;
    EXPECT_EQ(back, raw);
  }
  // The URL-safe alphabet: 0xfb 0xff → "-_8".
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(Crypto, Base64UrlDecodeIsStrict) {
  std::string out;
  EXPECT_FALSE(Base64UrlDecode("Zm9v=", &out));  // padding
  EXPECT_FALSE(Base64UrlDecode("Zm+v", &out));   // standard alphabet
  EXPECT_FALSE(Base64UrlDecode("Z", &out));      // impossible length
  EXPECT_FALSE(Base64UrlDecode("Zh", &out));     // non-zero unused bits ("Zg" is canonical)
  EXPECT_FALSE(Base64UrlDecode("Zm 9v", &out));  // whitespace
  EXPECT_TRUE(Base64UrlDecode("Zg", &out));
}

}  // namespace
}  // namespace seekd::security
