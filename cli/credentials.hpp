// The registry credentials a CLI command passes on: `--creds USER:PASSWORD`, or `--username`
// with the password read from standard input (`--password-stdin`, so it never shows in `ps` or
// shell history), as docker, podman and skopeo take them.
#pragma once

#include <istream>
#include <string>
#include <utility>

#include <CLI/CLI.hpp>

namespace rookery::cli {

struct login_flags {
  std::string creds;     ///< USER:PASSWORD, may be empty
  std::string username;  ///< with password_stdin
  bool password_stdin = false;
};

/// Throws std::invalid_argument when the flags do not fit together; reads nothing. Returns "".
std::string check_login(const login_flags& flags);

/// USER and PASSWORD from the flags (the password's first line read from `in` when asked);
/// both empty when no credentials were given. Throws like registry_authorization.
std::pair<std::string, std::string> registry_login(const login_flags& flags, std::istream& in);

/// Adds --creds, --username and --password-stdin to `sub`, bound to `flags`.
void add_login_flags(CLI::App& sub, login_flags& flags);

/// "Basic ..." for the flags, reading the password's first line from `in` when asked; empty
/// when no credentials were given. Throws std::invalid_argument (naming flags, never the
/// password) when they do not fit together or the password is empty.
std::string registry_authorization(const login_flags& flags, std::istream& in);

}  // namespace rookery::cli
