// Who is calling: the server's authentication step, before routing. One of
//   - an API key:        Authorization: Bearer KEY
//   - an AK/SK signature: Authorization: SEEKD1-HMAC-SHA256 Credential=AK/DAY, ...
//   - a JWT (HS256):     Authorization: Bearer <header.payload.signature>
// is accepted when that method is configured; with nothing configured every request passes.
// The checks are security/'s, the same code the client SDK signs and mints with.
//
// Thread-safety: Check may be called from every I/O thread at once.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "security/jwt.h"
#include "security/request_signing.h"

namespace seekd::server {

struct AuthOptions {
  std::vector<std::string> api_keys;
  std::map<std::string, std::string> access_keys;  // AK → SK
  std::chrono::seconds signature_window{300};
  std::string jwt_secret;  // "" = JWTs not accepted
  std::string jwt_issuer, jwt_audience;
  std::chrono::seconds jwt_leeway{60};
};

struct AuthOutcome {
  bool ok = false;
  std::string key_id;   // "key1", "ak:AK", "jwt:SUBJECT" — for logs and usage, never a secret
  std::string reason;   // seekd_auth_failures_total's label when refused
  std::string message;  // the 401's message
};

class Authenticator {
 public:
  static Result<std::unique_ptr<Authenticator>> Create(AuthOptions options);
  // True when some method is configured (requests then need credentials).
  bool enabled() const { return enabled_; }
  AuthOutcome Check(std::string_view method, std::string_view target,
                    const security::HeaderList& headers, std::string_view body,
                    std::chrono::system_clock::time_point now);

 private:
  explicit Authenticator(AuthOptions options);
  AuthOptions opt_;
  bool enabled_ = false;
  std::unique_ptr<security::SignatureVerifier> signatures_;
  std::unique_ptr<security::JwtVerifier> jwt_;
};

}  // namespace seekd::server
