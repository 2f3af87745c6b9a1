// Status and Result<T>: the expected-failure channel of every layer.
//
// Bad input, bad files and I/O errors travel as values, never as exceptions across layers
// (docs/design/errors.md). Invariants use SEEKD_CHECK instead. Both types are cheap to move
// and not thread-safe to share while mutating (like any value type).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace seekd {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // the caller's input is malformed
  kNotFound,         // a named thing does not exist
  kCorrupt,          // a file's bytes contradict its format
  kUnsupported,      // well-formed, but a feature seekd does not handle
  kOutOfRange,       // a size or index beyond a limit
  kIoError,          // the OS refused (open, read, mmap, write)
  kInternal,         // a bug: should not happen
  kUnavailable,      // overloaded or shutting down: the same request may succeed later
};

const char* StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "corrupt: tensor 'x' ends past the end of the file"
  std::string ToString() const;

  // Prefixes context: Status(kCorrupt, "bad").WithContext("reading a.gguf") → "reading a.gguf:
  // bad".
  Status WithContext(const std::string& context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status Corrupt(std::string m) { return {StatusCode::kCorrupt, std::move(m)}; }
inline Status Unsupported(std::string m) { return {StatusCode::kUnsupported, std::move(m)}; }
inline Status OutOfRange(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

// Result<T> holds a value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).ok())
      v_ = Status(StatusCode::kInternal, "Result built from an ok Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

[[noreturn]] void CheckFailed(const char* file, int line, const char* expr, const char* msg);

}  // namespace seekd

// Invariant checks: always on. Never use on untrusted input; return a Status instead.
#define SEEKD_CHECK(cond)                                                  \
  do {                                                                     \
    if (!(cond)) ::seekd::CheckFailed(__FILE__, __LINE__, #cond, nullptr); \
  } while (0)
#define SEEKD_CHECK_MSG(cond, msg)                                       \
  do {                                                                   \
    if (!(cond)) ::seekd::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)
#ifdef NDEBUG
#define SEEKD_DCHECK(cond) \
  do {                     \
  } while (0)
#else
#define SEEKD_DCHECK(cond) SEEKD_CHECK(cond)
#endif

// Propagate a non-ok Status from an expression returning Status.
#define SEEKD_RETURN_IF_ERROR(expr) \
  do {                              \
    ::seekd::Status _st = (expr);   \
    if (!_st.ok()) return _st;      \
  } while (0)

#define SEEKD_CONCAT_INNER(a, b) a##b
#define SEEKD_CONCAT(a, b) SEEKD_CONCAT_INNER(a, b)
// SEEKD_ASSIGN_OR_RETURN(auto x, F()); — declares x from a Result or returns its Status.
// `lhs` is a declaration, so it cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define SEEKD_ASSIGN_OR_RETURN(lhs, expr) \
  SEEKD_ASSIGN_OR_RETURN_IMPL(SEEKD_CONCAT(_res_, __LINE__), lhs, expr)
#define SEEKD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
