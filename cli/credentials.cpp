#include "cli/credentials.hpp"

#include <stdexcept>

#include "pull/upstream.hpp"

namespace rookery::cli {

std::string check_login(const login_flags& flags) {
  if (!flags.creds.empty()) {
    if (!flags.username.empty() || flags.password_stdin)
      throw std::invalid_argument("--creds and --username/--password-stdin exclude each other");
    const auto colon = flags.creds.find(':');
    if (colon == std::string::npos || colon == 0)
      throw std::invalid_argument("--creds must be USER:PASSWORD");
  }
  if (flags.username.empty() != !flags.password_stdin)
    throw std::invalid_argument("--username and --password-stdin go together");
  if (flags.username.find(':') != std::string::npos)
    throw std::invalid_argument("--username must not contain ':'");
  return {};
}

std::string registry_authorization(const login_flags& flags, std::istream& in) {
  check_login(flags);
  if (!flags.creds.empty()) {
    const auto colon = flags.creds.find(':');
    return pull::basic_authorization(flags.creds.substr(0, colon), flags.creds.substr(colon + 1));
  }
  if (flags.username.empty()) return {};
  std::string password;
  std::getline(in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) throw std::invalid_argument("--password-stdin: no password on stdin");
  return pull::basic_authorization(flags.username, password);
}

}  // namespace rookery::cli
