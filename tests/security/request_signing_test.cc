// AK/SK signatures: a golden vector computed by an independent implementation of the scheme in
// docs/design/auth.md (Python hashlib/hmac), and every refusal the verifier makes.
#include "security/request_signing.h"

#include <gtest/gtest.h>

#include "security/crypto.h"

namespace seekd::security {
namespace {

using SysClock = std::chrono::system_clock;
using std::chrono::seconds;

// 2026-12-01 08:41:54 UTC, the golden vector's time.
SysClock::time_point At() { return SysClock::from_time_t(1796114514); }

std::string AuthorizationOf(const HeaderList& h) {
  for (const auto& [k, v] : h)
    if (k == "Authorization") return v;
  return "";
}

const std::string kBody = R"({"model":"default","messages":[]})";

HeaderList GoldenHeaders() {
  return {{"Host", "127.0.0.1:8080"},
          {"X-Seekd-Content-Sha256", Sha256Hex(kBody)},
          {"X-Seekd-Date", "20261201T084154Z"},
          {"X-Seekd-Nonce", "00112233445566778899aabbccddeeff"}};
}

TEST(RequestSigning, DateFormat) { EXPECT_EQ(SignatureDate(At()), "20261201T084154Z"); }

TEST(RequestSigning, GoldenVector) {
  // Computed by Python from the scheme's text (the canonical request below, then the string to
  // sign and the day-derived key).
  const HeaderList h = GoldenHeaders();
  const RequestToSign r{"POST", "/v1/chat/completions?b=%20x&a=1&a=0", &h, kBody};
  const std::vector<std::string> names = {"host", "x-seekd-content-sha256", "x-seekd-date",
                                          "x-seekd-nonce"};
  const std::string body_hash = Sha256Hex(kBody);
  EXPECT_EQ(body_hash, "59444bbeb088244772d3cd8b18cde4f1f39ade67dddc091648d4384f70fea68d");
  const std::string canon = CanonicalRequest(r, names, body_hash);
  EXPECT_EQ(canon,
            "POST\n/v1/chat/completions\na=0&a=1&b=%20x\nhost:127.0.0.1:8080\n"
            "x-seekd-content-sha256:" +
                body_hash +
                "\nx-seekd-date:20261201T084154Z\nx-seekd-nonce:00112233445566778899aabbccddeeff\n"
                "host;x-seekd-content-sha256;x-seekd-date;x-seekd-nonce\n" +
                body_hash);
  EXPECT_EQ(
      Signature("sk-example-secret", "20261201T084154Z", StringToSign("20261201T084154Z", canon)),
      "9df149cb019bb7d1e74ab2737003b36cda3e9e497af36481e7062e0f93c0c826");
}

TEST(RequestSigning, CanonicalFormIgnoresSpellingDifferences) {
  const HeaderList a = {{"HOST", "  example.com  "}, {"x-seekd-date", "x"}};
  const HeaderList b = {{"host", "example.com"}, {"X-Seekd-Date", "x"}};
  const RequestToSign ra{"post", "/v1/a%7Eb?z=1&y=%41", &a, ""};
  const RequestToSign rb{"POST", "/v1/a~b?y=A&z=1", &b, ""};
  const std::vector<std::string> names = {"host", "x-seekd-date"};
  EXPECT_EQ(CanonicalRequest(ra, names, "h"), CanonicalRequest(rb, names, "h"));
}

class Verifier : public ::testing::Test {
 protected:
  SignatureVerifier v{[](std::string_view ak) -> std::optional<std::string> {
                        if (ak == "AK1") return std::string("secret-one");
                        if (ak == "AK2") return std::string("secret-two");
                        return std::nullopt;
                      },
                      {seconds(300), 1000}};

  // A request signed by the client code, as the server receives it.
  HeaderList Signed(std::string_view ak, std::string_view sk, std::string_view body,
                    SysClock::time_point t, std::string_view target = "/v1/chat/completions") {
    HeaderList h = SignRequest(ak, sk, "POST", target, "127.0.0.1:8080", body, t);
    h.emplace_back("Content-Type", "application/json");
    return h;
  }
  SignatureResult Check(const HeaderList& h, std::string_view body, SysClock::time_point now,
                        std::string_view method = "POST",
                        std::string_view target = "/v1/chat/completions") {
    return v.Verify(RequestToSign{method, target, &h, body}, now);
  }
};

TEST_F(Verifier, AcceptsWhatTheClientSigns) {
  const auto t = At();
  const HeaderList h = Signed("AK1", "secret-one", kBody, t);
  EXPECT_TRUE(SignatureVerifier::Claims(AuthorizationOf(h)));
  EXPECT_FALSE(SignatureVerifier::Claims("Bearer sk-1"));
  EXPECT_FALSE(SignatureVerifier::Claims("SEEKD1-HMAC-SHA256X Credential=a/b"));
  const SignatureResult r = Check(h, kBody, t + seconds(5));
  EXPECT_TRUE(r.ok()) << r.message;
  EXPECT_EQ(r.access_key, "AK1");
}

TEST_F(Verifier, RefusesAReplay) {
  const auto t = At();
  const HeaderList h = Signed("AK1", "secret-one", kBody, t);
  ASSERT_TRUE(Check(h, kBody, t).ok());
  const SignatureResult again = Check(h, kBody, t + seconds(1));
  EXPECT_EQ(again.error, SignatureError::kReplayed);
  // A re-signed retry (fresh nonce) is fine.
  EXPECT_TRUE(Check(Signed("AK1", "secret-one", kBody, t), kBody, t + seconds(1)).ok());
}

TEST_F(Verifier, TimestampWindow) {
  const auto t = At();
  EXPECT_TRUE(Check(Signed("AK1", "secret-one", kBody, t), kBody, t + seconds(299)).ok());
  EXPECT_TRUE(Check(Signed("AK1", "secret-one", kBody, t), kBody, t - seconds(299)).ok());
  EXPECT_EQ(Check(Signed("AK1", "secret-one", kBody, t), kBody, t + seconds(301)).error,
            SignatureError::kStale);
  EXPECT_EQ(Check(Signed("AK1", "secret-one", kBody, t), kBody, t - seconds(301)).error,
            SignatureError::kStale);
}

TEST_F(Verifier, TamperingIsCaught) {
  const auto t = At();
  // Another body under the original hash header.
  EXPECT_EQ(Check(Signed("AK1", "secret-one", kBody, t), kBody + " ", t).error,
            SignatureError::kBodyMismatch);
  // Another body with its hash header rewritten to match: the signature no longer does.
  {
    HeaderList h = Signed("AK1", "secret-one", kBody, t);
    const std::string other = R"({"model":"other"})";
    for (auto& [k, val] : h)
      if (k == "X-Seekd-Content-Sha256") val = Sha256Hex(other);
    EXPECT_EQ(Check(h, other, t).error, SignatureError::kBadSignature);
  }
  // Another path, another method, another host.
  EXPECT_EQ(Check(Signed("AK1", "secret-one", kBody, t), kBody, t, "POST", "/v1/completions").error,
            SignatureError::kBadSignature);
  EXPECT_EQ(Check(Signed("AK1", "secret-one", kBody, t), kBody, t, "PUT").error,
            SignatureError::kBadSignature);
  {
    HeaderList h = Signed("AK1", "secret-one", kBody, t);
    for (auto& [k, val] : h)
      if (k == "Host") val = "evil.example:8080";
    EXPECT_EQ(Check(h, kBody, t).error, SignatureError::kBadSignature);
  }
  // The right access key with the wrong secret; an unknown access key.
  EXPECT_EQ(Check(Signed("AK1", "secret-two", kBody, t), kBody, t).error,
            SignatureError::kBadSignature);
  EXPECT_EQ(Check(Signed("AK9", "secret-one", kBody, t), kBody, t).error,
            SignatureError::kUnknownKey);
}

TEST_F(Verifier, QueryOrderDoesNotMatter) {
  const auto t = At();
  const HeaderList h = Signed("AK2", "secret-two", "", t, "/v1/models?b=2&a=1");
  EXPECT_TRUE(Check(h, "", t, "POST", "/v1/models?a=1&b=2").ok());
}

TEST_F(Verifier, RequiredHeadersMustBeSigned) {
  const auto t = At();
  HeaderList h = Signed("AK1", "secret-one", kBody, t);
  for (auto& [k, val] : h)
    if (k == "Authorization") {
      const size_t s = val.find(";x-seekd-nonce");
      val.erase(s, std::string(";x-seekd-nonce").size());
    }
  EXPECT_EQ(Check(h, kBody, t).error, SignatureError::kUnsignedHeader);
  // A signed header sent twice is ambiguous.
  HeaderList twice = Signed("AK1", "secret-one", kBody, t);
  twice.emplace_back("x-seekd-nonce", "ffffffffffffffffffff");
  EXPECT_EQ(Check(twice, kBody, t).error, SignatureError::kUnsignedHeader);
}

TEST_F(Verifier, MalformedHeadersAreRefusedNotTrusted) {
  const auto t = At();
  const HeaderList good = Signed("AK1", "secret-one", kBody, t);
  const std::string auth = AuthorizationOf(good);
  const std::string sig = auth.substr(auth.find("Signature=") + 10);
  const std::string bad[] = {
      "",
      "SEEKD1-HMAC-SHA256",
      "SEEKD1-HMAC-SHA256 ",
      "SEEKD1-HMAC-SHA256 Credential=AK1/20261201",
      "SEEKD1-HMAC-SHA256 Credential=AK1/20261201, Signature=" + sig,
      "SEEKD1-HMAC-SHA256 Credential=/20261201, SignedHeaders=host;x-seekd-content-sha256;"
      "x-seekd-date;x-seekd-nonce, Signature=" +
          sig,
      // unsorted, upper-case, duplicated and empty header names
      "SEEKD1-HMAC-SHA256 Credential=AK1/20261201, SignedHeaders=x-seekd-date;host, Signature=" +
          sig,
      "SEEKD1-HMAC-SHA256 Credential=AK1/20261201, SignedHeaders=Host, Signature=" + sig,
      "SEEKD1-HMAC-SHA256 Credential=AK1/20261201, SignedHeaders=host;host, Signature=" + sig,
      "SEEKD1-HMAC-SHA256 Credential=AK1/20261201, SignedHeaders=host;, Signature=" + sig,
      // short, non-hex and repeated signature fields; an unknown field
      auth.substr(0, auth.size() - 1),
      auth.substr(0, auth.size() - 1) + "g",
      auth + ", Signature=" + sig,
      auth + ", Extra=1",
      "Bearer " + sig,
  };
  for (const std::string& a : bad) {
    HeaderList h = good;
    for (auto& [k, val] : h)
      if (k == "Authorization") val = a;
    const SignatureResult r = Check(h, kBody, t);
    EXPECT_FALSE(r.ok()) << a;
    EXPECT_EQ(r.error, SignatureError::kMalformed) << a;
  }
  // A malformed date, and a credential day that is not the date's.
  HeaderList h = good;
  for (auto& [k, val] : h)
    if (k == "X-Seekd-Date") val = "2026-12-01T08:41:54Z";
  EXPECT_EQ(Check(h, kBody, t).error, SignatureError::kMalformed);
  HeaderList day = good;
  for (auto& [k, val] : day)
    if (k == "Authorization") val.replace(val.find("/20261201"), 9, "/20261130");
  EXPECT_EQ(Check(day, kBody, t).error, SignatureError::kStale);
  // A date far outside what a clock can hold (found by fuzz_auth: it once overflowed).
  for (const char* far : {"59991231T235959Z", "19000101T000000Z"}) {
    HeaderList h2 = good;
    for (auto& [k, val] : h2)
      if (k == "X-Seekd-Date") val = far;
    EXPECT_FALSE(Check(h2, kBody, t).ok()) << far;
  }
  // No Authorization at all.
  HeaderList none = good;
  std::erase_if(none, [](const auto& kv) { return kv.first == "Authorization"; });
  EXPECT_EQ(Check(none, kBody, t).error, SignatureError::kMalformed);
}

TEST_F(Verifier, NonceCacheIsBounded) {
  SignatureVerifier small([](std::string_view) { return std::optional<std::string>("s"); },
                          {seconds(300), 4});
  const auto t = At();
  std::vector<HeaderList> reqs;
  for (int i = 0; i < 6; ++i)
    reqs.push_back(SignRequest("AK", "s", "GET", "/v1/models", "h", "", t));
  for (const auto& h : reqs) ASSERT_TRUE(small.Verify({"GET", "/v1/models", &h, ""}, t).ok());
  // The newest four are remembered.
  for (int i = 2; i < 6; ++i)
    EXPECT_EQ(small.Verify({"GET", "/v1/models", &reqs[i], ""}, t).error,
              SignatureError::kReplayed);
}

}  // namespace
}  // namespace seekd::security
