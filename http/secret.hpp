// Shared secrets a caller proves with "Authorization: Bearer <secret>": the seeder's operator
// token and the registry's notification secret. Loaded once at start-up from a file or an
// environment variable (never a flag value, which `ps` would show).
#pragma once

#include <string>
#include <string_view>

namespace rookery::http {

class secret {
 public:
  secret() = default;
  /// The first line of `file` when `file` is non-empty, else the environment variable `env`
  /// (may be null); unset when neither gives one. Throws std::runtime_error when the file
  /// cannot be read or holds an empty secret.
  static secret load(const std::string& file, const char* env);
  /// For tests and callers that already hold the value.
  static secret of(std::string value);

  bool configured() const noexcept { return !value_.empty(); }
  /// True when `authorization` is exactly "Bearer <secret>". Constant time in the secret's
  /// length; an unset secret admits nobody.
  bool admits(std::string_view authorization) const noexcept;

 private:
  std::string value_;
};

}  // namespace rookery::http
