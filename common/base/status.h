#pragma once
// Status: an error that carries context as it travels up
// ("open input x.ts: No such file or directory"), and the exit code it
// maps to. No exceptions cross a library boundary; functions return Status
// or Result<T>.
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "base/exit_codes.h"

namespace sigma {

class [[nodiscard]] Status {
 public:
  Status() = default;  // ok
  Status(ExitCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  bool is_ok() const { return code_ == ExitCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  ExitCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Prefix context: status.wrap("open input x.ts") -> "open input x.ts: <msg>".
  Status wrap(const std::string& context) const {
    if (is_ok()) return *this;
    return Status(code_, context + ": " + message_);
  }

 private:
  ExitCode code_ = ExitCode::kOk;
  std::string message_;
};

inline Status usage_error(std::string m) { return {ExitCode::kUsage, std::move(m)}; }
inline Status system_error(std::string m) { return {ExitCode::kSystem, std::move(m)}; }
inline Status data_error(std::string m) { return {ExitCode::kData, std::move(m)}; }
inline Status internal_error(std::string m) { return {ExitCode::kInternal, std::move(m)}; }
// errno-based: "what: strerror(errno)".
Status errno_error(const std::string& what, int err);

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}
  Result(Status s) : v_(std::move(s)) {}
  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  T& value() & { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  const T& value() const& { return std::get<T>(v_); }
  T& operator*() & { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  Status status() const { return is_ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sigma

#define SIGMA_CONCAT_INNER(a, b) a##b
#define SIGMA_CONCAT(a, b) SIGMA_CONCAT_INNER(a, b)

#define SIGMA_RETURN_IF_ERROR(expr)            \
  do {                                         \
    ::sigma::Status _st = (expr);              \
    if (!_st.is_ok()) return _st;              \
  } while (0)

#define SIGMA_RETURN_IF_ERROR_CTX(expr, ctx)   \
  do {                                         \
    ::sigma::Status _st = (expr);              \
    if (!_st.is_ok()) return _st.wrap(ctx);    \
  } while (0)

#define SIGMA_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.is_ok()) return tmp.status();            \
  lhs = std::move(tmp).value()

// SIGMA_ASSIGN_OR_RETURN(auto x, make_x());
#define SIGMA_ASSIGN_OR_RETURN(lhs, expr) \
  SIGMA_ASSIGN_OR_RETURN_IMPL(SIGMA_CONCAT(_res_, __LINE__), lhs, expr)
