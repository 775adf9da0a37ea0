#include "cli/hosts.hpp"

#include <fstream>
#include <stdexcept>

namespace rookery::cli {
namespace {

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

}  // namespace

host parse_host(std::string_view text) {
  std::string spelled(trim(text));
  if (spelled.find("://") == std::string::npos) spelled = "http://" + spelled;
  auto base = http::url::parse(spelled);
  // A base URL: a path would be silently dropped, so refuse it.
  if (!base || (base->target != "/" && !base->target.empty()))
    throw std::invalid_argument("not a host URL: '" + std::string(text) +
                                "' (expected http://HOST:PORT)");
  base->target = "/";
  return host{base->scheme + "://" + base->authority(), *base};
}

std::vector<host> parse_hosts(std::istream& in, const std::string& source) {
  std::vector<host> out;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const auto entry = trim(std::string_view(line).substr(0, line.find('#')));
    if (entry.empty()) continue;
    try {
      out.push_back(parse_host(entry));
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument(source + ":" + std::to_string(number) + ": " + e.what());
    }
  }
  if (out.empty()) throw std::invalid_argument(source + ": lists no host");
  return out;
}

std::vector<host> read_hosts_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read hosts file " + path);
  return parse_hosts(in, path);
}

}  // namespace rookery::cli
