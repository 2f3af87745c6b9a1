// Client credentials as command-line flags, shared by the commands that call a server
// (`bench`, `chat`): an API key, an AK:SK pair to sign requests with, or a JWT secret to mint
// tokens from (docs/design/auth.md).
#pragma once

#include <CLI/CLI.hpp>

#include <chrono>
#include <string>

#include "client/http_client.h"

namespace seekd::cli {

struct CredentialFlags {
  std::string api_key, sign_key, jwt_secret, jwt_subject = "seekd-cli", jwt_issuer, jwt_audience;

  void Add(CLI::App* c) {
    c->add_option("--api-key", api_key, "API key (Authorization: Bearer KEY)")
        ->envname("SEEKD_API_KEY");
    c->add_option("--sign-key", sign_key, "AK:SK to sign each request with (SEEKD1-HMAC-SHA256)")
        ->envname("SEEKD_SIGN_KEY");
    c->add_option("--jwt-secret", jwt_secret, "mint HS256 JWTs with this secret")
        ->envname("SEEKD_JWT_SECRET");
    c->add_option("--jwt-subject", jwt_subject, "sub of minted JWTs")->capture_default_str();
    c->add_option("--jwt-issuer", jwt_issuer, "iss of minted JWTs");
    c->add_option("--jwt-audience", jwt_audience, "aud of minted JWTs");
  }

  // "" when fine, else the problem (for a one-line error).
  std::string Apply(client::ClientOptions* o) const {
    o->api_key = api_key;
    if (!sign_key.empty()) {
      const size_t colon = sign_key.find(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == sign_key.size())
        return "--sign-key takes AK:SK";
      o->access_key = sign_key.substr(0, colon);
      o->secret_key = sign_key.substr(colon + 1);
    }
    if (!jwt_secret.empty()) {
      if (jwt_secret.size() < security::kMinJwtSecretBytes)
        return "--jwt-secret needs at least 32 bytes";
      o->jwt_secret = jwt_secret;
      o->jwt_claims.subject = jwt_subject;
      o->jwt_claims.issuer = jwt_issuer;
      o->jwt_claims.audience = jwt_audience;
      o->jwt_claims.ttl = std::chrono::hours(1);
    }
    return "";
  }
};

}  // namespace seekd::cli
