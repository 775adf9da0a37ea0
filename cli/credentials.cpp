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

std::pair<std::string, std::string> registry_login(const login_flags& flags, std::istream& in) {
  check_login(flags);
  if (!flags.creds.empty()) {
    const auto colon = flags.creds.find(':');
    return {flags.creds.substr(0, colon), flags.creds.substr(colon + 1)};
  }
  if (flags.username.empty()) return {};
  std::string password;
  std::getline(in, password);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  if (password.empty()) throw std::invalid_argument("--password-stdin: no password on stdin");
  return {flags.username, password};
}

std::string registry_authorization(const login_flags& flags, std::istream& in) {
  const auto [user, password] = registry_login(flags, in);
  return user.empty() ? std::string() : pull::basic_authorization(user, password);
}

void add_login_flags(CLI::App& sub, login_flags& flags) {
  sub.add_option("--creds", flags.creds, "USER:PASSWORD for the registry");
  sub.add_option("--username", flags.username,
                 "The registry user, with --password-stdin (instead of --creds)");
  sub.add_flag("--password-stdin", flags.password_stdin,
               "Read the registry password from the first line of stdin");
}

}  // namespace rookery::cli
