// HS256 tokens: the RFC 7515 §A.1 example verifies, and every refusal of RFC 8725's rules —
// alg "none", other algorithms, forged or altered tokens, time claims, iss/aud, kid, short keys.
#include "security/jwt.h"

#include <gtest/gtest.h>

#include "security/crypto.h"

namespace seekd::security {
namespace {

using SysClock = std::chrono::system_clock;
using std::chrono::seconds;

const std::string kSecret = "0123456789abcdef0123456789abcdef-seekd";  // 38 bytes
SysClock::time_point Now() { return SysClock::from_time_t(1796114514); }

JwtVerifierOptions Opts() {
  JwtVerifierOptions o;
  o.keys[""] = kSecret;
  return o;
}

std::string Part(const std::string& json) { return Base64UrlEncode(json); }
std::string Sign(const std::string& key, const std::string& head, const std::string& body) {
  const std::string input = Part(head) + "." + Part(body);
  const Digest d = HmacSha256(key, input);
  return input + "." + Base64UrlEncode(std::string(reinterpret_cast<const char*>(d.data()), 32));
}

TEST(Jwt, Rfc7515ExampleVerifies) {
  // RFC 7515 Appendix A.1: an HS256 JWS with a 64-byte key; exp is 1300819380.
  std::string key;
  ASSERT_TRUE(Base64UrlDecode(
      "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
      &key));
  const std::string token =
      "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
      ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnV"
      "lfQ"
      ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
  JwtVerifierOptions o;
  o.keys[""] = key;
  o.issuer = "joe";
  JwtVerifier v(o);
  const auto before = SysClock::from_time_t(1300819380 - 3600);
  const JwtResult ok = v.Verify(token, before);
  EXPECT_TRUE(ok.ok()) << ok.message;
  EXPECT_EQ(v.Verify(token, SysClock::from_time_t(1300819380 + 61)).error, JwtError::kExpired);
  // One flipped signature character.
  std::string forged = token;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'X' ? 'Y' : 'X';
  EXPECT_EQ(v.Verify(forged, before).error, JwtError::kBadSignature);
}

TEST(Jwt, MintThenVerify) {
  JwtClaims c;
  c.issuer = "seekd-test";
  c.subject = "team-a";
  c.audience = "seekd";
  c.ttl = seconds(3600);
  auto token = MintJwt(kSecret, c, Now());
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  JwtVerifierOptions o = Opts();
  o.issuer = "seekd-test";
  o.audience = "seekd";
  const JwtResult r = JwtVerifier(o).Verify(*token, Now() + seconds(10));
  ASSERT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.subject, "team-a");
  EXPECT_EQ(r.jti.size(), 32u);
  // Each token gets its own jti.
  auto other = MintJwt(kSecret, c, Now());
  ASSERT_TRUE(other.ok());
  EXPECT_NE(JwtVerifier(o).Verify(*other, Now()).jti, r.jti);
}

TEST(Jwt, TimeClaimsWithLeeway) {
  JwtClaims c;
  c.ttl = seconds(600);
  auto token = MintJwt(kSecret, c, Now());
  ASSERT_TRUE(token.ok());
  JwtVerifier v(Opts());  // leeway 60 s
  EXPECT_TRUE(v.Verify(*token, Now() + seconds(600 + 59)).ok());
  EXPECT_EQ(v.Verify(*token, Now() + seconds(600 + 61)).error, JwtError::kExpired);
  EXPECT_TRUE(v.Verify(*token, Now() - seconds(59)).ok());  // clocks a little apart
  EXPECT_EQ(v.Verify(*token, Now() - seconds(61)).error, JwtError::kNotYetValid);
}

TEST(Jwt, ExpIsRequiredAndLifetimeBounded) {
  JwtVerifier v(Opts());
  const int64_t t = 1796114514;
  EXPECT_EQ(
      v.Verify(Sign(kSecret, R"({"alg":"HS256","typ":"JWT"})", R"({"sub":"x"})"), Now()).error,
      JwtError::kExpired);
  EXPECT_EQ(v.Verify(Sign(kSecret, R"({"alg":"HS256"})",
                          R"({"exp":")" + std::to_string(t + 10) + R"("})"),
                     Now())
                .error,
            JwtError::kExpired);  // a string is not a NumericDate
  const std::string long_lived =
      R"({"iat":)" + std::to_string(t) + R"(,"exp":)" + std::to_string(t + 2 * 24 * 3600) + "}";
  EXPECT_EQ(v.Verify(Sign(kSecret, R"({"alg":"HS256"})", long_lived), Now()).error,
            JwtError::kClaims);
  const std::string fine = R"({"exp":)" + std::to_string(t + 100) + "}";
  EXPECT_TRUE(v.Verify(Sign(kSecret, R"({"alg":"HS256"})", fine), Now()).ok());
}

TEST(Jwt, AlgorithmIsTheVerifiersChoice) {
  JwtVerifier v(Opts());
  const std::string body = R"({"sub":"admin","exp":1796118114})";
  // alg "none" with an empty signature (the classic bypass).
  EXPECT_EQ(v.Verify(Part(R"({"alg":"none","typ":"JWT"})") + "." + Part(body) + ".", Now()).error,
            JwtError::kAlgorithm);
  EXPECT_EQ(v.Verify(Part(R"({"alg":"None"})") + "." + Part(body) + ".", Now()).error,
            JwtError::kAlgorithm);
  // Other algorithms, even when the bytes are an HMAC under our key.
  for (const char* alg : {"HS512", "HS384", "RS256", "ES256", "hs256"})
    EXPECT_EQ(v.Verify(Sign(kSecret, std::string(R"({"alg":")") + alg + "\"}", body), Now()).error,
              JwtError::kAlgorithm)
        << alg;
  EXPECT_EQ(v.Verify(Sign(kSecret, R"({"typ":"JWT"})", body), Now()).error, JwtError::kAlgorithm);
  EXPECT_EQ(v.Verify(Sign(kSecret, R"({"alg":"HS256","typ":"JWE"})", body), Now()).error,
            JwtError::kAlgorithm);
  EXPECT_EQ(v.Verify(Sign(kSecret, R"({"alg":"HS256","crit":["exp"]})", body), Now()).error,
            JwtError::kAlgorithm);
  EXPECT_TRUE(v.Verify(Sign(kSecret, R"({"alg":"HS256","typ":"JWT"})", body), Now()).ok());
}

TEST(Jwt, ForgedAndAlteredTokens) {
  JwtVerifier v(Opts());
  const std::string body = R"({"sub":"user","exp":1796118114})";
  EXPECT_EQ(
      v.Verify(Sign("another-secret-another-secret-another", R"({"alg":"HS256"})", body), Now())
          .error,
      JwtError::kBadSignature);
  // The payload swapped under a valid signature.
  const std::string good = Sign(kSecret, R"({"alg":"HS256"})", body);
  const size_t a = good.find('.'), b = good.rfind('.');
  const std::string swapped =
      good.substr(0, a + 1) + Part(R"({"sub":"admin","exp":1796118114})") + good.substr(b);
  EXPECT_EQ(v.Verify(swapped, Now()).error, JwtError::kBadSignature);
}

TEST(Jwt, IssuerAudienceAndRevocation) {
  JwtVerifierOptions o = Opts();
  o.issuer = "seekd";
  o.audience = "api";
  o.revoked_jti = {"gone"};
  JwtVerifier v(o);
  auto tok = [&](const std::string& claims) {
    return Sign(kSecret, R"({"alg":"HS256"})", R"({"exp":1796115000,)" + claims + "}");
  };
  EXPECT_TRUE(v.Verify(tok(R"("iss":"seekd","aud":"api")"), Now()).ok());
  EXPECT_TRUE(v.Verify(tok(R"("iss":"seekd","aud":["web","api"])"), Now()).ok());
  EXPECT_EQ(v.Verify(tok(R"("iss":"other","aud":"api")"), Now()).error, JwtError::kClaims);
  EXPECT_EQ(v.Verify(tok(R"("aud":"api")"), Now()).error, JwtError::kClaims);
  EXPECT_EQ(v.Verify(tok(R"("iss":"seekd","aud":["web"])"), Now()).error, JwtError::kClaims);
  EXPECT_EQ(v.Verify(tok(R"("iss":"seekd","aud":"api","jti":"gone")"), Now()).error,
            JwtError::kRevoked);
}

TEST(Jwt, KeyIdSelectsAmongKnownKeysOnly) {
  JwtVerifierOptions o;
  o.keys["2026-11"] = std::string(32, 'a');
  o.keys["2026-12"] = std::string(32, 'b');
  JwtVerifier v(o);
  JwtClaims c;
  c.key_id = "2026-12";
  auto t = MintJwt(std::string(32, 'b'), c, Now());
  ASSERT_TRUE(t.ok());
  EXPECT_TRUE(v.Verify(*t, Now()).ok());
  c.key_id = "2026-11";  // signed with the other month's secret: mismatch
  auto wrong = MintJwt(std::string(32, 'b'), c, Now());
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(v.Verify(*wrong, Now()).error, JwtError::kBadSignature);
  c.key_id = "../../etc/passwd";
  auto unknown = MintJwt(std::string(32, 'b'), c, Now());
  ASSERT_TRUE(unknown.ok());
  EXPECT_EQ(v.Verify(*unknown, Now()).error, JwtError::kUnknownKey);
  // No kid, and no default key.
  auto none = MintJwt(std::string(32, 'b'), JwtClaims{}, Now());
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(v.Verify(*none, Now()).error, JwtError::kUnknownKey);
}

TEST(Jwt, ShortSecretsAreRefused) {
  EXPECT_FALSE(MintJwt("password", JwtClaims{}, Now()).ok());
  JwtVerifierOptions o;
  o.keys[""] = "password";
  EXPECT_FALSE(JwtVerifier(o).Validate().ok());
  EXPECT_FALSE(JwtVerifier(JwtVerifierOptions{}).Validate().ok());
  EXPECT_TRUE(JwtVerifier(Opts()).Validate().ok());
}

TEST(Jwt, GarbageIsMalformed) {
  JwtVerifier v(Opts());
  const std::string bad[] = {"",
                             ".",
                             "..",
                             "a.b",
                             "a.b.c.d",
                             "!!.??.**",
                             "W10.e30." + std::string(43, 'A'),
                             std::string(9000, 'a') + ".b.c",
                             Part("{") + "." + Part("{}") + "." + std::string(43, 'A')};
  for (const std::string& t : bad) EXPECT_EQ(v.Verify(t, Now()).error, JwtError::kMalformed) << t;
  EXPECT_FALSE(JwtVerifier::LooksLikeJwt("sk-plain-api-key"));
  EXPECT_TRUE(JwtVerifier::LooksLikeJwt("a.b.c"));
}

}  // namespace
}  // namespace seekd::security
