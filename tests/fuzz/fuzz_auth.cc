// libFuzzer target: the credential parsers on arbitrary bytes — the SEEKD1-HMAC-SHA256
// Authorization header with its X-Seekd-* headers, and JWTs. Nothing may crash, and nothing
// may be accepted: the harness's secrets are not in the input, so an accepted request or token
// would be a forgery. base64url must round-trip.
#include <cstdint>
#include <string>
#include <string_view>

#include "security/crypto.h"
#include "security/jwt.h"
#include "security/request_signing.h"

namespace {
using seekd::security::HeaderList;

// Splits the input at NUL bytes into fields.
std::vector<std::string> Fields(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t end = s.find('\0', start);
    out.emplace_back(s.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto now = std::chrono::system_clock::from_time_t(1796114514);  // 2026-12-01T08:41:54Z

  std::string back;
  if (!seekd::security::Base64UrlDecode(seekd::security::Base64UrlEncode(in), &back) || back != in)
    __builtin_trap();
  if (seekd::security::Base64UrlDecode(in, &back) && seekd::security::Base64UrlEncode(back) != in)
    __builtin_trap();  // one canonical encoding per byte string

  // Fields: authorization, date, nonce, content-sha256, body, target.
  std::vector<std::string> f = Fields(in);
  f.resize(6);
  HeaderList h = {{"Authorization", f[0]},
                  {"Host", "127.0.0.1:8080"},
                  {"X-Seekd-Date", f[1].empty() ? "20261201T084154Z" : f[1]},
                  {"X-Seekd-Nonce", f[2]},
                  {"X-Seekd-Content-Sha256", f[3]}};
  static seekd::security::SignatureVerifier sig(
      [](std::string_view ak) -> std::optional<std::string> {
        if (ak.size() < 64) return std::string("the-harness-secret-key");
        return std::nullopt;
      });
  const auto r = sig.Verify({"POST", f[5].empty() ? "/v1/chat/completions" : f[5], &h, f[4]}, now);
  if (r.ok()) __builtin_trap();

  seekd::security::JwtVerifierOptions o;
  o.keys[""] = "the-harness-jwt-secret-0123456789abcdef";
  o.keys["k1"] = "another-harness-jwt-secret-0123456789";
  static const seekd::security::JwtVerifier jwt(o);
  if (jwt.Verify(in, now).ok()) __builtin_trap();
  return 0;
}
