#include "server/auth.h"

#include "security/crypto.h"

namespace seekd::server {

namespace {
std::string_view HeaderValue(const security::HeaderList& h, std::string_view name) {
  for (const auto& [k, v] : h)
    if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        }))
      return v;
  return {};
}
}  // namespace

Authenticator::Authenticator(AuthOptions options) : opt_(std::move(options)) {}

Result<std::unique_ptr<Authenticator>> Authenticator::Create(AuthOptions options) {
  std::unique_ptr<Authenticator> a(new Authenticator(std::move(options)));
  AuthOptions& o = a->opt_;
  for (const auto& [ak, sk] : o.access_keys)
    if (ak.empty() || sk.size() < 16 || ak.find('/') != std::string::npos)
      return InvalidArgument("access key '" + ak +
                             "': needs a name without '/' and a secret of at least 16 characters");
  if (!o.access_keys.empty()) {
    const auto* keys = &o.access_keys;
    a->signatures_ = std::make_unique<security::SignatureVerifier>(
        [keys](std::string_view ak) -> std::optional<std::string> {
          auto it = keys->find(std::string(ak));
          if (it == keys->end()) return std::nullopt;
          return it->second;
        },
        security::SignatureVerifierOptions{o.signature_window});
  }
  if (!o.jwt_secret.empty()) {
    security::JwtVerifierOptions jo;
    jo.keys[""] = o.jwt_secret;
    jo.issuer = o.jwt_issuer;
    jo.audience = o.jwt_audience;
    jo.leeway = o.jwt_leeway;
    a->jwt_ = std::make_unique<security::JwtVerifier>(jo);
    if (Status st = a->jwt_->Validate(); !st.ok()) return st;
  }
  a->enabled_ = !o.api_keys.empty() || a->signatures_ || a->jwt_;
  return a;
}

AuthOutcome Authenticator::Check(std::string_view method, std::string_view target,
                                 const security::HeaderList& headers, std::string_view body,
                                 std::chrono::system_clock::time_point now) {
  AuthOutcome out;
  if (!enabled_) {
    out.ok = true;
    return out;
  }
  const std::string_view auth = HeaderValue(headers, "authorization");
  if (security::SignatureVerifier::Claims(auth)) {
    if (!signatures_) {
      out.reason = "signature_not_enabled";
      out.message = "Request signatures are not enabled on this server";
      return out;
    }
    const auto r = signatures_->Verify({method, target, &headers, body}, now);
    out.ok = r.ok();
    out.reason = r.ok() ? "" : security::SignatureErrorReason(r.error);
    out.message = r.message;
    if (r.ok()) out.key_id = "ak:" + r.access_key;
    return out;
  }
  std::string_view token;
  if (auth.size() > 7 && (auth.substr(0, 7) == "Bearer " || auth.substr(0, 7) == "bearer "))
    token = auth.substr(7);
  if (token.empty()) {
    out.reason = "missing_key";
    out.message = "An API key is required (Authorization: Bearer KEY)";
    return out;
  }
  if (jwt_ && security::JwtVerifier::LooksLikeJwt(token)) {
    const auto r = jwt_->Verify(token, now);
    out.ok = r.ok();
    out.reason = r.ok() ? "" : security::JwtErrorReason(r.error);
    out.message = r.message;
    if (r.ok()) out.key_id = "jwt:" + (r.subject.empty() ? std::string("anonymous") : r.subject);
    return out;
  }
  // Every key is compared (no early exit), each in constant time.
  for (size_t i = 0; i < opt_.api_keys.size(); ++i)
    if (security::ConstantTimeEqual(token, opt_.api_keys[i])) {
      out.ok = true;
      out.key_id = "key" + std::to_string(i + 1);
    }
  if (!out.ok) {
    out.reason = "invalid_key";
    out.message = "The API key is not valid";
  }
  return out;
}

}  // namespace seekd::server
