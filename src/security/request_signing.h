// AK/SK request signatures ("SEEKD1-HMAC-SHA256"): the client signs a canonical form of each
// HTTP request with a secret key; the server rebuilds it, looks the secret up by access key,
// and checks the signature, the timestamp window, the body hash and a single-use nonce.
// The scheme follows the common shape of cloud request signing (canonical request → string to
// sign → HMAC under a key derived per day); docs/design/auth.md gives it in full.
//
//   Authorization: SEEKD1-HMAC-SHA256 Credential=AK/20261201,
//       SignedHeaders=host;x-seekd-content-sha256;x-seekd-date;x-seekd-nonce, Signature=<hex>
//   X-Seekd-Date: 20261201T084154Z        (UTC; within ±window of the server's clock)
//   X-Seekd-Nonce: <random hex>           (each value accepted once within the window)
//   X-Seekd-Content-Sha256: <hex sha256 of the body>   (never an unsigned payload)
//
// Thread-safety: the free functions are pure; SignatureVerifier is safe to share between
// threads (its nonce cache is locked).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace seekd::security {

inline constexpr std::string_view kSignatureAlgorithm = "SEEKD1-HMAC-SHA256";

using HeaderList = std::vector<std::pair<std::string, std::string>>;

// What a signature covers. `target` is the request target as sent (path and query).
struct RequestToSign {
  std::string_view method;
  std::string_view target;
  const HeaderList* headers = nullptr;  // every header of the request (names any case)
  std::string_view body;
};

// "20261201T084154Z" for a time point (UTC).
std::string SignatureDate(std::chrono::system_clock::time_point t);

// The canonical request text and the string to sign, exposed so tests and clients in other
// languages can check each stage. `signed_headers` are lowercase and sorted.
std::string CanonicalRequest(const RequestToSign& r, const std::vector<std::string>& signed_headers,
                             std::string_view body_sha256_hex);
std::string StringToSign(std::string_view date, std::string_view canonical_request);
std::string Signature(std::string_view secret_key, std::string_view date,
                      std::string_view string_to_sign);

// Client side: the headers to send with a request (Host, X-Seekd-Date, -Nonce,
// -Content-Sha256 and Authorization). `host` is the Host value (host[:port]) and is sent as
// given, so the server sees exactly what was signed. Each call makes a fresh nonce and
// timestamp: a retried request must be signed again.
HeaderList SignRequest(std::string_view access_key, std::string_view secret_key,
                       std::string_view method, std::string_view target, std::string_view host,
                       std::string_view body, std::chrono::system_clock::time_point now);

// Why a signed request was refused. The names are the `reason` label of
// seekd_auth_failures_total.
enum class SignatureError {
  kNone,
  kMalformed,       // Authorization or a required header cannot be parsed
  kUnsignedHeader,  // a required header is missing from SignedHeaders, or absent
  kUnknownKey,      // no secret for the access key
  kStale,           // the timestamp is outside the window (or the credential day differs)
  kBodyMismatch,    // X-Seekd-Content-Sha256 differs from the body received
  kBadSignature,    // the HMAC differs
  kReplayed,        // the nonce was already used within the window
};
const char* SignatureErrorReason(SignatureError e);

struct SignatureResult {
  SignatureError error = SignatureError::kNone;
  std::string access_key;  // set when the Authorization header parsed
  std::string message;     // for the client; never echoes the expected signature
  bool ok() const { return error == SignatureError::kNone; }
};

struct SignatureVerifierOptions {
  std::chrono::seconds window{300};  // allowed clock difference either way
  size_t max_nonces = 1 << 18;       // remembered nonces (oldest dropped first beyond this)
};

class SignatureVerifier {
 public:
  // lookup(access_key) → the secret key, or nullopt for an unknown key.
  using SecretLookup = std::function<std::optional<std::string>(std::string_view)>;
  explicit SignatureVerifier(SecretLookup lookup, SignatureVerifierOptions options = {});

  // True when the Authorization value claims this scheme (the caller then must verify).
  static bool Claims(std::string_view authorization);

  SignatureResult Verify(const RequestToSign& r, std::chrono::system_clock::time_point now);

 private:
  bool RememberNonce(const std::string& key, std::chrono::system_clock::time_point now);

  SecretLookup lookup_;
  SignatureVerifierOptions opt_;
  std::mutex mu_;
  std::unordered_map<std::string, std::chrono::system_clock::time_point> nonces_;  // → expiry
  std::deque<std::pair<std::chrono::system_clock::time_point, std::string>> nonce_order_;
};

}  // namespace seekd::security
