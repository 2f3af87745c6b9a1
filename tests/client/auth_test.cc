// The client's credentials as a server checks them: AK/SK signatures verified by the same
// verifier the server runs (each retry signed afresh, so no attempt looks like a replay), and
// JWTs minted by the client accepted by the server's JWT verifier.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "client/http_client.h"
#include "security/jwt.h"
#include "security/request_signing.h"
#include "test_server.h"

namespace seekd::client {
namespace {

using nlohmann::json;
using testing::RawRequest;
using testing::ThreadedServer;
using testing::Writer;

const std::string kOk =
    R"({"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]})";
const json kReq = {{"model", "m"}, {"messages", {{{"role", "user"}, {"content", "Hi"}}}}};

TEST(ClientAuth, AkSkSignedEveryAttemptAndVerified) {
  security::SignatureVerifier verifier([](std::string_view ak) -> std::optional<std::string> {
    if (ak == "AK-test") return std::string("SK-test-secret");
    return std::nullopt;
  });
  // (Shared with the server's threads under a lock: TSan cannot see the ordering a socket gives.)
  std::vector<std::string> outcomes;
  std::mutex mu;
  std::atomic<int> n{0};
  auto seen = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return outcomes;
  };
  ThreadedServer s([&](const RawRequest& r, const Writer& w) {
    const auto result =
        verifier.Verify(security::RequestToSign{r.method, r.target, &r.headers, r.body},
                        std::chrono::system_clock::now());
    {
      std::lock_guard<std::mutex> lock(mu);
      outcomes.push_back(result.ok() ? "ok" : security::SignatureErrorReason(result.error));
    }
    if (!result.ok()) {
      w(ThreadedServer::Reply(401, R"({"error":{"message":")" + result.message + R"("}})"));
      return true;
    }
    // The first attempt is answered 503, so the retry must be signed again.
    w(n++ == 0 ? ThreadedServer::Reply(503, R"({"error":{"message":"busy"}})")
               : ThreadedServer::Reply(200, kOk));
    return true;
  });
  ClientOptions o;
  o.base_url = s.url();
  o.access_key = "AK-test";
  o.secret_key = "SK-test-secret";
  o.retry.initial_delay_s = 0.01;
  Client c(o);
  auto r = c.Chat(kReq);
  ASSERT_TRUE(std::holds_alternative<json>(r)) << std::get<api::ApiError>(r).message;
  EXPECT_EQ(seen(), (std::vector<std::string>{"ok", "ok"}));
  const auto reqs = s.requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].Header("X-Seekd-Nonce"), reqs[1].Header("X-Seekd-Nonce"));
  EXPECT_EQ(reqs[0].Header("Idempotency-Key"), reqs[1].Header("Idempotency-Key"));
  // A replay of the first request's bytes is refused.
  const auto replay = verifier.Verify(
      security::RequestToSign{reqs[1].method, reqs[1].target, &reqs[1].headers, reqs[1].body},
      std::chrono::system_clock::now());
  EXPECT_EQ(replay.error, security::SignatureError::kReplayed);

  // A client with the wrong secret is refused with the server's 401, and not retried.
  ClientOptions bad = o;
  bad.secret_key = "wrong";
  auto refused = Client(bad).Chat(kReq);
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(refused));
  EXPECT_EQ(std::get<api::ApiError>(refused).status, 401);
  EXPECT_EQ(seen().back(), "bad_signature");
}

TEST(ClientAuth, JwtMintedByTheClientVerifies) {
  const std::string secret = "a-random-256-bit-secret-for-tests-0123456789";
  security::JwtVerifierOptions vo;
  vo.keys[""] = secret;
  vo.issuer = "backend-a";
  vo.audience = "seekd";
  security::JwtVerifier verifier(vo);
  std::vector<std::string> subjects;
  std::mutex mu;
  auto seen = [&] {
    std::lock_guard<std::mutex> lock(mu);
    return subjects;
  };
  ThreadedServer s([&](const RawRequest& r, const Writer& w) {
    const std::string auth = r.Header("Authorization");
    const auto v = verifier.Verify(auth.substr(7), std::chrono::system_clock::now());
    {
      std::lock_guard<std::mutex> lock(mu);
      subjects.push_back(v.ok() ? v.subject : security::JwtErrorReason(v.error));
    }
    w(v.ok() ? ThreadedServer::Reply(200, kOk)
             : ThreadedServer::Reply(401, R"({"error":{"message":"no"}})"));
    return true;
  });
  ClientOptions o;
  o.base_url = s.url();
  o.jwt_secret = secret;
  o.jwt_claims.issuer = "backend-a";
  o.jwt_claims.audience = "seekd";
  o.jwt_claims.subject = "team-42";
  o.jwt_claims.ttl = std::chrono::seconds(3600);
  Client c(o);
  ASSERT_TRUE(std::holds_alternative<json>(c.Chat(kReq)));
  ASSERT_TRUE(std::holds_alternative<json>(c.Chat(kReq)));
  EXPECT_EQ(seen(), (std::vector<std::string>{"team-42", "team-42"}));
  // One token, reused until it nears expiry.
  const auto reqs = s.requests();
  EXPECT_EQ(reqs[0].Header("Authorization"), reqs[1].Header("Authorization"));
  // A client whose issuer the server does not accept.
  ClientOptions other = o;
  other.jwt_claims.issuer = "someone-else";
  auto refused = Client(other).Chat(kReq);
  ASSERT_TRUE(std::holds_alternative<api::ApiError>(refused));
  EXPECT_EQ(std::get<api::ApiError>(refused).status, 401);
  EXPECT_EQ(seen().back(), "jwt_claims");
}

}  // namespace
}  // namespace seekd::client
