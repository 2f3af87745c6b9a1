// JSON Web Tokens with HS256 (RFC 7519 / RFC 7515), following RFC 8725's rules: the algorithm
// is fixed by the verifier (a token saying "none", "HS512" or "RS256" is refused before any
// signature work), keys are at least 256 bits, `exp` is required, `nbf`/`iat` are checked with
// a leeway, `iss`/`aud` when configured, `typ` must be JWT when present, `crit` is refused, and
// `kid` only selects among keys the verifier already holds. Signing and the signature check
// are libjwt's; the rules around them are here, shared by the client (minting) and the server
// (verifying).
//
// Thread-safety: MintJwt and JwtVerifier::Verify are safe to call from several threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

#include "core/status.h"

namespace seekd::security {

inline constexpr size_t kMinJwtSecretBytes = 32;  // RFC 8725 §3.5: no password-strength keys

struct JwtClaims {
  std::string issuer;    // iss ("" = omitted)
  std::string subject;   // sub: who the caller is (becomes the request's key id)
  std::string audience;  // aud ("" = omitted)
  std::chrono::seconds ttl{24 * 3600};
  std::string key_id;  // kid header ("" = omitted)
};

// A signed token "header.payload.signature" with iat = nbf = now, exp = now + ttl and a random
// jti. Fails for a secret shorter than kMinJwtSecretBytes.
Result<std::string> MintJwt(std::string_view secret, const JwtClaims& claims,
                            std::chrono::system_clock::time_point now);

// Why a token was refused (the `reason` label of seekd_auth_failures_total).
enum class JwtError {
  kNone,
  kMalformed,     // not three base64url parts of JSON objects
  kAlgorithm,     // alg is not HS256, typ is not JWT, or crit is present
  kUnknownKey,    // kid names no configured key
  kBadSignature,  // the HMAC differs
  kExpired,       // exp passed (beyond the leeway), or missing
  kNotYetValid,   // nbf or iat in the future (beyond the leeway)
  kClaims,        // iss or aud differ, or the lifetime exceeds the maximum
  kRevoked,       // jti on the deny-list
};
const char* JwtErrorReason(JwtError e);

struct JwtVerifierOptions {
  std::map<std::string, std::string> keys;  // kid → secret; "" = the key for tokens with no kid
  std::string issuer;                       // required iss ("" = not checked)
  std::string audience;                     // required in aud ("" = not checked)
  std::chrono::seconds leeway{60};
  std::chrono::seconds max_lifetime{24 * 3600};  // exp − iat (or exp − now with no iat)
  std::set<std::string> revoked_jti;
};

struct JwtResult {
  JwtError error = JwtError::kNone;
  std::string subject, jti;
  std::string message;
  bool ok() const { return error == JwtError::kNone; }
};

class JwtVerifier {
 public:
  explicit JwtVerifier(JwtVerifierOptions options);
  // Checks the options (every key long enough); the server calls it at start.
  Status Validate() const;
  // True when the text has the shape of a JWT (three dot-separated parts), so a Bearer value
  // that is not a JWT can go to the API-key check instead.
  static bool LooksLikeJwt(std::string_view token);
  JwtResult Verify(std::string_view token, std::chrono::system_clock::time_point now) const;

 private:
  JwtVerifierOptions opt_;
};

}  // namespace seekd::security
