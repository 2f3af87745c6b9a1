#include "security/jwt.h"

#include <jwt.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <memory>

#include "security/crypto.h"

namespace seekd::security {

namespace {

using SysClock = std::chrono::system_clock;
using json = nlohmann::json;

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

int64_t Seconds(SysClock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

// A base64url part that decodes to a JSON object, or a discarded value.
json DecodePart(std::string_view part) {
  std::string bytes;
  if (part.empty() || !Base64UrlDecode(part, &bytes)) return json(json::value_t::discarded);
  json j = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return json(json::value_t::discarded);
  return j;
}

bool NumericClaim(const json& payload, const char* name, int64_t* out) {
  if (!payload.contains(name)) return false;
  const json& v = payload[name];
  if (!v.is_number()) return false;
  const double d = v.get<double>();
  if (!(d > -1e15 && d < 1e15)) return false;
  *out = static_cast<int64_t>(d);
  return true;
}

}  // namespace

Result<std::string> MintJwt(std::string_view secret, const JwtClaims& claims,
                            SysClock::time_point now) {
  if (secret.size() < kMinJwtSecretBytes)
    return InvalidArgument("a JWT secret needs at least " + std::to_string(kMinJwtSecretBytes) +
                           " bytes (RFC 8725 §3.5)");
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Internal("jwt_new failed");
  JwtPtr j(raw);
  const int64_t t = Seconds(now);
  bool ok = true;
  if (!claims.issuer.empty()) ok &= jwt_add_grant(j.get(), "iss", claims.issuer.c_str()) == 0;
  if (!claims.subject.empty()) ok &= jwt_add_grant(j.get(), "sub", claims.subject.c_str()) == 0;
  if (!claims.audience.empty()) ok &= jwt_add_grant(j.get(), "aud", claims.audience.c_str()) == 0;
  ok &= jwt_add_grant_int(j.get(), "iat", static_cast<long>(t)) == 0;
  ok &= jwt_add_grant_int(j.get(), "nbf", static_cast<long>(t)) == 0;
  ok &= jwt_add_grant_int(j.get(), "exp", static_cast<long>(t + claims.ttl.count())) == 0;
  ok &= jwt_add_grant(j.get(), "jti", RandomHex(16).c_str()) == 0;
  if (!claims.key_id.empty()) ok &= jwt_add_header(j.get(), "kid", claims.key_id.c_str()) == 0;
  ok &= jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret.data()),
                    static_cast<int>(secret.size())) == 0;
  if (!ok) return InvalidArgument("a JWT claim could not be set");
  char* s = jwt_encode_str(j.get());
  if (s == nullptr) return Internal("jwt_encode_str failed");
  std::string out(s);
  std::free(s);
  return out;
}

const char* JwtErrorReason(JwtError e) {
  switch (e) {
    case JwtError::kNone:
      return "ok";
    case JwtError::kMalformed:
      return "jwt_malformed";
    case JwtError::kAlgorithm:
      return "jwt_algorithm";
    case JwtError::kUnknownKey:
      return "jwt_unknown_key";
    case JwtError::kBadSignature:
      return "jwt_bad_signature";
    case JwtError::kExpired:
      return "jwt_expired";
    case JwtError::kNotYetValid:
      return "jwt_not_yet_valid";
    case JwtError::kClaims:
      return "jwt_claims";
    case JwtError::kRevoked:
      return "jwt_revoked";
  }
  return "unknown";
}

JwtVerifier::JwtVerifier(JwtVerifierOptions options) : opt_(std::move(options)) {}

Status JwtVerifier::Validate() const {
  if (opt_.keys.empty()) return InvalidArgument("no JWT key configured");
  for (const auto& [kid, secret] : opt_.keys)
    if (secret.size() < kMinJwtSecretBytes)
      return InvalidArgument("JWT key" + (kid.empty() ? std::string() : " '" + kid + "'") +
                             " is shorter than " + std::to_string(kMinJwtSecretBytes) +
                             " bytes; use a random 256-bit secret (RFC 8725 §3.5)");
  return Status::Ok();
}

bool JwtVerifier::LooksLikeJwt(std::string_view token) {
  const size_t a = token.find('.');
  if (a == std::string_view::npos || a == 0) return false;
  const size_t b = token.find('.', a + 1);
  return b != std::string_view::npos && b > a + 1 &&
         token.find('.', b + 1) == std::string_view::npos;
}

JwtResult JwtVerifier::Verify(std::string_view token, SysClock::time_point now) const {
  auto fail = [](JwtError e, std::string m) { return JwtResult{e, "", "", std::move(m)}; };
  if (!LooksLikeJwt(token) || token.size() > 8192)
    return fail(JwtError::kMalformed, "The token is not a JWT");
  const size_t a = token.find('.'), b = token.find('.', a + 1);
  const json header = DecodePart(token.substr(0, a));
  const json payload = DecodePart(token.substr(a + 1, b - a - 1));
  if (header.is_discarded() || payload.is_discarded())
    return fail(JwtError::kMalformed, "The token is not a well-formed JWT");
  // RFC 8725 §3.1: the algorithm is ours to choose, never the token's.
  if (!header.contains("alg") || header["alg"] != "HS256")
    return fail(JwtError::kAlgorithm, "Only HS256 tokens are accepted");
  if (header.contains("typ") &&
      (!header["typ"].is_string() || (header["typ"] != "JWT" && header["typ"] != "jwt")))
    return fail(JwtError::kAlgorithm, "The token's typ must be JWT");
  if (header.contains("crit"))
    return fail(JwtError::kAlgorithm, "Critical headers are not supported");
  std::string sig;
  if (!Base64UrlDecode(token.substr(b + 1), &sig) || sig.size() != 32)
    return fail(JwtError::kMalformed, "The token's signature is not an HS256 signature");
  std::string kid;
  if (header.contains("kid")) {
    if (!header["kid"].is_string()) return fail(JwtError::kMalformed, "kid must be a string");
    kid = header["kid"].get<std::string>();
  }
  const auto key = opt_.keys.find(kid);
  if (key == opt_.keys.end()) return fail(JwtError::kUnknownKey, "The token's key is not known");

  const std::string text(token);
  jwt_t* raw = nullptr;
  const int rc =
      jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key->second.data()),
                 static_cast<int>(key->second.size()));
  JwtPtr j(raw);
  if (rc != 0 || !j || jwt_get_alg(j.get()) != JWT_ALG_HS256)
    return fail(JwtError::kBadSignature, "The token's signature does not match");

  // Claims, from the verified payload.
  const int64_t t = Seconds(now), leeway = opt_.leeway.count();
  int64_t exp = 0, nbf = 0, iat = 0;
  if (!NumericClaim(payload, "exp", &exp)) return fail(JwtError::kExpired, "The token has no exp");
  if (t > exp + leeway) return fail(JwtError::kExpired, "The token has expired");
  if (payload.contains("nbf") && (!NumericClaim(payload, "nbf", &nbf) || t + leeway < nbf))
    return fail(JwtError::kNotYetValid, "The token is not valid yet (nbf)");
  const bool has_iat = payload.contains("iat");
  if (has_iat && (!NumericClaim(payload, "iat", &iat) || iat > t + leeway))
    return fail(JwtError::kNotYetValid, "The token was issued in the future (iat)");
  if (exp - (has_iat ? iat : t) > opt_.max_lifetime.count())
    return fail(JwtError::kClaims,
                "The token's lifetime exceeds " + std::to_string(opt_.max_lifetime.count()) + " s");
  if (!opt_.issuer.empty() && (!payload.contains("iss") || payload["iss"] != opt_.issuer))
    return fail(JwtError::kClaims, "The token's issuer is not accepted");
  if (!opt_.audience.empty()) {
    bool found = false;
    if (payload.contains("aud")) {
      const json& aud = payload["aud"];
      if (aud.is_string()) found = aud == opt_.audience;
      if (aud.is_array())
        for (const json& x : aud) found |= x.is_string() && x == opt_.audience;
    }
    if (!found) return fail(JwtError::kClaims, "The token is not meant for this audience");
  }
  JwtResult r;
  if (payload.contains("sub") && payload["sub"].is_string()) r.subject = payload["sub"];
  if (payload.contains("jti") && payload["jti"].is_string()) r.jti = payload["jti"];
  if (!r.jti.empty() && opt_.revoked_jti.count(r.jti))
    return fail(JwtError::kRevoked, "The token has been revoked");
  return r;
}

}  // namespace seekd::security
