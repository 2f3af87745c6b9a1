#include "security/request_signing.h"

#include <algorithm>
#include <cctype>
#include <ctime>

#include "security/crypto.h"

namespace seekd::security {

namespace {

using SysClock = std::chrono::system_clock;

constexpr std::string_view kScopeTerm = "seekd_request";
const std::vector<std::string> kRequired = {"host", "x-seekd-content-sha256", "x-seekd-date",
                                            "x-seekd-nonce"};

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool Unreserved(unsigned char c) {
  return std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes, then encodes every byte but the unreserved ones (and `keep`), so that two
// spellings of one URI sign alike. A malformed escape stays as literal text.
std::string Canonicalize(std::string_view s, std::string_view keep) {
  std::string raw;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        raw += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    raw += s[i];
  }
  static const char* kDigits = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : raw) {
    if (Unreserved(c) || keep.find(static_cast<char>(c)) != std::string_view::npos) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 15];
    }
  }
  return out;
}

std::string CanonicalQuery(std::string_view q) {
  std::vector<std::pair<std::string, std::string>> params;
  size_t start = 0;
  while (start <= q.size() && !q.empty()) {
    size_t end = q.find('&', start);
    if (end == std::string_view::npos) end = q.size();
    std::string_view part = q.substr(start, end - start);
    if (!part.empty()) {
      const size_t eq = part.find('=');
      params.emplace_back(
          Canonicalize(part.substr(0, eq), ""),
          eq == std::string_view::npos ? "" : Canonicalize(part.substr(eq + 1), ""));
    }
    start = end + 1;
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [k, v] : params) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

// Trimmed, with inner runs of spaces and tabs collapsed to one space.
std::string CanonicalValue(std::string_view v) {
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

// The values of header `name` (lowercase) in the request.
std::vector<std::string_view> Find(const HeaderList& h, std::string_view name) {
  std::vector<std::string_view> out;
  for (const auto& [k, v] : h)
    if (k.size() == name.size() && Lower(k) == name) out.push_back(v);
  return out;
}

// Seconds since the epoch (kept as seconds: a far-off year must not overflow a time_point).
std::optional<int64_t> ParseDate(std::string_view s) {
  // YYYYMMDDTHHMMSSZ
  if (s.size() != 16 || s[8] != 'T' || s[15] != 'Z') return std::nullopt;
  auto num = [&](size_t pos, size_t len, int* out) {
    int v = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
      v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
  };
  std::tm tm{};
  int y, mo, d, h, mi, se;
  if (!num(0, 4, &y) || !num(4, 2, &mo) || !num(6, 2, &d) || !num(9, 2, &h) || !num(11, 2, &mi) ||
      !num(13, 2, &se))
    return std::nullopt;
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
    return std::nullopt;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  const time_t t = timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(t);
}

struct ParsedAuthorization {
  std::string access_key, day, signature;
  std::vector<std::string> signed_headers;
};

// "SEEKD1-HMAC-SHA256 Credential=AK/DAY, SignedHeaders=a;b, Signature=HEX" (strict).
std::optional<ParsedAuthorization> ParseAuthorization(std::string_view v) {
  if (v.substr(0, kSignatureAlgorithm.size()) != kSignatureAlgorithm) return std::nullopt;
  v.remove_prefix(kSignatureAlgorithm.size());
  if (v.empty() || v.front() != ' ') return std::nullopt;
  ParsedAuthorization p;
  bool have_cred = false, have_signed = false, have_sig = false;
  while (!v.empty()) {
    while (!v.empty() && (v.front() == ' ' || v.front() == ',')) v.remove_prefix(1);
    if (v.empty()) break;
    size_t end = v.find(',');
    std::string_view item = v.substr(0, end);
    v = end == std::string_view::npos ? std::string_view() : v.substr(end);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) return std::nullopt;
    const std::string_view key = item.substr(0, eq), val = item.substr(eq + 1);
    if (key == "Credential" && !have_cred) {
      const size_t slash = val.rfind('/');
      if (slash == std::string_view::npos || slash == 0) return std::nullopt;
      p.access_key = std::string(val.substr(0, slash));
      p.day = std::string(val.substr(slash + 1));
      have_cred = true;
    } else if (key == "SignedHeaders" && !have_signed) {
      size_t s = 0;
      while (s <= val.size()) {
        size_t e = val.find(';', s);
        if (e == std::string_view::npos) e = val.size();
        const std::string name(val.substr(s, e - s));
        if (name.empty() || name != Lower(name)) return std::nullopt;
        p.signed_headers.push_back(name);
        s = e + 1;
      }
      if (!std::is_sorted(p.signed_headers.begin(), p.signed_headers.end()) ||
          std::adjacent_find(p.signed_headers.begin(), p.signed_headers.end()) !=
              p.signed_headers.end())
        return std::nullopt;
      have_signed = true;
    } else if (key == "Signature" && !have_sig) {
      if (val.size() != 64 ||
          !std::all_of(val.begin(), val.end(), [](char c) { return HexValue(c) >= 0; }))
        return std::nullopt;
      p.signature = Lower(val);
      have_sig = true;
    } else {
      return std::nullopt;  // unknown or repeated field
    }
  }
  if (!have_cred || !have_signed || !have_sig) return std::nullopt;
  return p;
}

}  // namespace

std::string SignatureDate(SysClock::time_point t) {
  const time_t tt = SysClock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char b[20];
  std::strftime(b, sizeof b, "%Y%m%dT%H%M%SZ", &tm);
  return b;
}

std::string CanonicalRequest(const RequestToSign& r, const std::vector<std::string>& signed_headers,
                             std::string_view body_sha256_hex) {
  std::string_view path = r.target, query;
  if (const size_t q = path.find('?'); q != std::string_view::npos) {
    query = path.substr(q + 1);
    path = path.substr(0, q);
  }
  std::string out;
  for (char c : r.method) out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  out += '\n';
  out += Canonicalize(path.empty() ? "/" : path, "/");
  out += '\n';
  out += CanonicalQuery(query);
  out += '\n';
  std::string list;
  for (const std::string& name : signed_headers) {
    std::string value;
    for (std::string_view v : Find(*r.headers, name)) {
      if (!value.empty()) value += ',';
      value += CanonicalValue(v);
    }
    out += name;
    out += ':';
    out += value;
    out += '\n';
    if (!list.empty()) list += ';';
    list += name;
  }
  out += list;
  out += '\n';
  out += body_sha256_hex;
  return out;
}

std::string StringToSign(std::string_view date, std::string_view canonical_request) {
  std::string out(kSignatureAlgorithm);
  out += '\n';
  out += date;
  out += '\n';
  out += date.substr(0, 8);
  out += '/';
  out += kScopeTerm;
  out += '\n';
  out += Sha256Hex(canonical_request);
  return out;
}

std::string Signature(std::string_view secret_key, std::string_view date,
                      std::string_view string_to_sign) {
  // The signing key is derived per day, so a leaked derived key is useful for one day only.
  const Digest k_day = HmacSha256("SEEKD1" + std::string(secret_key), date.substr(0, 8));
  const Digest k_sign = HmacSha256(
      std::string_view(reinterpret_cast<const char*>(k_day.data()), k_day.size()), kScopeTerm);
  return Hex(
      HmacSha256(std::string_view(reinterpret_cast<const char*>(k_sign.data()), k_sign.size()),
                 string_to_sign));
}

HeaderList SignRequest(std::string_view access_key, std::string_view secret_key,
                       std::string_view method, std::string_view target, std::string_view host,
                       std::string_view body, SysClock::time_point now) {
  const std::string date = SignatureDate(now);
  const std::string body_hash = Sha256Hex(body);
  HeaderList h = {{"Host", std::string(host)},
                  {"X-Seekd-Content-Sha256", body_hash},
                  {"X-Seekd-Date", date},
                  {"X-Seekd-Nonce", RandomHex(16)}};
  const RequestToSign r{method, target, &h, body};
  const std::string sig =
      Signature(secret_key, date, StringToSign(date, CanonicalRequest(r, kRequired, body_hash)));
  std::string list;
  for (const auto& n : kRequired) list += (list.empty() ? "" : ";") + n;
  h.emplace_back("Authorization",
                 std::string(kSignatureAlgorithm) + " Credential=" + std::string(access_key) + "/" +
                     date.substr(0, 8) + ", SignedHeaders=" + list + ", Signature=" + sig);
  return h;
}

const char* SignatureErrorReason(SignatureError e) {
  switch (e) {
    case SignatureError::kNone:
      return "ok";
    case SignatureError::kMalformed:
      return "malformed_signature";
    case SignatureError::kUnsignedHeader:
      return "unsigned_header";
    case SignatureError::kUnknownKey:
      return "unknown_access_key";
    case SignatureError::kStale:
      return "stale_timestamp";
    case SignatureError::kBodyMismatch:
      return "body_hash_mismatch";
    case SignatureError::kBadSignature:
      return "bad_signature";
    case SignatureError::kReplayed:
      return "replayed_nonce";
  }
  return "unknown";
}

SignatureVerifier::SignatureVerifier(SecretLookup lookup, SignatureVerifierOptions options)
    : lookup_(std::move(lookup)), opt_(options) {}

bool SignatureVerifier::Claims(std::string_view authorization) {
  return authorization.substr(0, kSignatureAlgorithm.size()) == kSignatureAlgorithm &&
         (authorization.size() == kSignatureAlgorithm.size() ||
          authorization[kSignatureAlgorithm.size()] == ' ');
}

SignatureResult SignatureVerifier::Verify(const RequestToSign& r, SysClock::time_point now) {
  auto fail = [](SignatureError e, std::string msg, std::string ak = "") {
    return SignatureResult{e, std::move(ak), std::move(msg)};
  };
  const auto auth = Find(*r.headers, "authorization");
  if (auth.size() != 1)
    return fail(SignatureError::kMalformed, "One Authorization header is required");
  const auto p = ParseAuthorization(auth[0]);
  if (!p)
    return fail(SignatureError::kMalformed,
                "The Authorization header is not a valid SEEKD1-HMAC-SHA256 signature");
  for (const std::string& need : kRequired)
    if (!std::binary_search(p->signed_headers.begin(), p->signed_headers.end(), need))
      return fail(SignatureError::kUnsignedHeader, "SignedHeaders must include " + need,
                  p->access_key);
  for (const std::string& name : p->signed_headers)
    if (Find(*r.headers, name).size() != 1)
      return fail(SignatureError::kUnsignedHeader,
                  "Signed header " + name + " must appear exactly once", p->access_key);
  const std::string date(Find(*r.headers, "x-seekd-date")[0]);
  const auto t = ParseDate(date);
  if (!t)
    return fail(SignatureError::kMalformed, "X-Seekd-Date must be YYYYMMDDTHHMMSSZ", p->access_key);
  if (p->day != date.substr(0, 8))
    return fail(SignatureError::kStale, "The credential day differs from X-Seekd-Date",
                p->access_key);
  const int64_t now_s =
      std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (*t > now_s + opt_.window.count() || *t < now_s - opt_.window.count())
    return fail(SignatureError::kStale,
                "X-Seekd-Date is more than " + std::to_string(opt_.window.count()) +
                    " s from the server's clock",
                p->access_key);
  const std::string nonce(Find(*r.headers, "x-seekd-nonce")[0]);
  if (nonce.size() < 16 || nonce.size() > 128)
    return fail(SignatureError::kMalformed, "X-Seekd-Nonce must be 16 to 128 characters",
                p->access_key);
  const std::string body_hash = Sha256Hex(r.body);
  if (!ConstantTimeEqual(Lower(Find(*r.headers, "x-seekd-content-sha256")[0]), body_hash))
    return fail(SignatureError::kBodyMismatch, "X-Seekd-Content-Sha256 does not match the body",
                p->access_key);
  const auto secret = lookup_(p->access_key);
  if (!secret) return fail(SignatureError::kUnknownKey, "Unknown access key", p->access_key);
  const std::string expected = Signature(
      *secret, date, StringToSign(date, CanonicalRequest(r, p->signed_headers, body_hash)));
  if (!ConstantTimeEqual(expected, p->signature))
    return fail(SignatureError::kBadSignature, "The request signature does not match",
                p->access_key);
  // Only a correctly signed request may take a place in the nonce cache.
  if (!RememberNonce(p->access_key + "\n" + nonce, now))
    return fail(SignatureError::kReplayed, "This request was already received (nonce reused)",
                p->access_key);
  return SignatureResult{SignatureError::kNone, p->access_key, ""};
}

bool SignatureVerifier::RememberNonce(const std::string& key, SysClock::time_point now) {
  std::lock_guard<std::mutex> lock(mu_);
  // Drops the oldest entry (skipping ones a later insert replaced).
  auto pop_front = [&] {
    auto it = nonces_.find(nonce_order_.front().second);
    if (it != nonces_.end() && it->second == nonce_order_.front().first) nonces_.erase(it);
    nonce_order_.pop_front();
  };
  while (!nonce_order_.empty() && nonce_order_.front().first < now) pop_front();
  // A nonce must be remembered as long as a request carrying it could still pass the window
  // check: up to twice the window after now.
  const auto expiry = now + 2 * opt_.window;
  if (auto it = nonces_.find(key); it != nonces_.end()) {
    if (it->second >= now) return false;
    nonces_.erase(it);  // seen long ago: its old entry no longer protects anything
  }
  while (!nonce_order_.empty() && nonces_.size() >= opt_.max_nonces) pop_front();
  nonces_.emplace(key, expiry);
  nonce_order_.emplace_back(expiry, key);
  return true;
}

}  // namespace seekd::security
