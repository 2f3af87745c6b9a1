// Small cryptographic helpers on OpenSSL 3 (libcrypto): digests, HMAC, a constant-time
// comparison, random tokens and base64url. Everything here is stateless and thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace seekd::security {

using Digest = std::array<uint8_t, 32>;

Digest Sha256(std::string_view data);
Digest HmacSha256(std::string_view key, std::string_view data);
std::string Hex(const Digest& d);  // 64 lowercase hex digits
std::string Sha256Hex(std::string_view data);

// Equal contents, in time that depends on neither the contents nor where they differ: both
// sides are hashed first, so the length of a secret does not leak either.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

// n_bytes from the OS CSPRNG (RAND_bytes), as 2·n_bytes lowercase hex digits.
std::string RandomHex(size_t n_bytes);

// RFC 4648 §5 base64url without padding; decoding refuses any other alphabet or padding and
// returns false on malformed input.
std::string Base64UrlEncode(std::string_view bytes);
bool Base64UrlDecode(std::string_view text, std::string* out);

}  // namespace seekd::security
