// The hosts the CLI talks to: proxy or seeder base URLs from the command line or a hosts file.
#pragma once

#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "http/client.hpp"

namespace rookery::cli {

/// A rookery-proxy or rookery-seeder, by its base URL.
struct host {
  std::string name;  ///< as shown to the operator: the URL without a trailing slash
  http::url base;    ///< target "/"
};

/// "http(s)://HOST[:PORT][/]" or "HOST:PORT" (http); throws std::invalid_argument otherwise.
host parse_host(std::string_view text);

/// A hosts file: one URL per line; blank lines and '#' comments are skipped, surrounding blanks
/// trimmed. Throws std::invalid_argument naming `source` and the line of a bad entry, or when
/// the file lists no host.
std::vector<host> parse_hosts(std::istream& in, const std::string& source);

/// parse_hosts of the file at `path` (throws when it cannot be read).
std::vector<host> read_hosts_file(const std::string& path);

}  // namespace rookery::cli
