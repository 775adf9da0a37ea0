// Registry credentials from the files other tools write: docker's config.json and the
// containers-auth.json of podman, skopeo and buildah ($REGISTRY_AUTH_FILE). Both have the shape
// {"auths": {"HOST[:PORT]": {"auth": "base64(USER:PASSWORD)"}}}; keys may also be written as a
// URL ("https://HOST/v1/"). Read once at start-up; errors name the file and the registry, never
// a secret.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace rookery::pull {

struct registry_login {
  std::string username;
  std::string password;
};

/// A file that cannot be used; what() names the file and the problem, never a secret.
class auth_file_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The logins of one auth file. Immutable after parsing; safe to share between threads.
class auth_file {
 public:
  /// Parses the text of the file `source` (named in errors). Throws auth_file_error when it is
  /// not JSON, has no "auths" object, or an entry has no host or an "auth" that is not
  /// base64 of USER:PASSWORD. Entries without "auth" (credential helpers, identity tokens) are
  /// not used; skipped() names them.
  static auth_file parse(std::string_view text, const std::string& source);
  /// Reads and parses `path`; throws auth_file_error when it cannot be read.
  static auth_file load(const std::string& path);

  /// The login for a registry authority ("host" or "host:port", as in a URL), if the file has
  /// one. Hosts compare case-insensitively.
  std::optional<registry_login> find(std::string_view authority) const;
  /// Registries the file names without an "auth" this program can use.
  const std::vector<std::string>& skipped() const noexcept { return skipped_; }
  const std::string& source() const noexcept { return source_; }
  std::size_t size() const noexcept { return logins_.size(); }

 private:
  std::string source_;
  std::unordered_map<std::string, registry_login> logins_;
  std::vector<std::string> skipped_;
};

/// The registry authority an auth file key names: scheme and path dropped, lower case
/// ("https://Reg.example:5000/v1/" → "reg.example:5000").
std::string registry_authority_of(std::string_view key);

/// Standard base64 (with padding) decoded; nullopt when `text` is not base64.
std::optional<std::string> decode_base64(std::string_view text);

}  // namespace rookery::pull
