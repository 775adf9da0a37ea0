// Upstream URLs and the redirects they answer with (first line: a URL; the rest: a Location),
// and the parameters of WWW-Authenticate challenges (the whole input, and each part).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "http/client.hpp"
#include "pull/upstream.hpp"
#include "tests/fuzz/check.hpp"

using namespace rookery;

namespace {

void check(const http::url& u) {
  FUZZ_CHECK(u.scheme == "http" || u.scheme == "https");
  FUZZ_CHECK(!u.host.empty() && !u.port.empty() && !u.target.empty() && u.target[0] == '/');
  (void)u.str();
}

void challenge(const std::string& text) {
  for (const char* key : {"realm", "service", "scope", "error", "REALM"})
    (void)pull::challenge_param(text, key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string input(reinterpret_cast<const char*>(data), size);
  const auto newline = input.find('\n');
  const std::string first = input.substr(0, newline);
  const std::string rest = newline == std::string::npos ? std::string() : input.substr(newline + 1);
  if (auto u = http::url::parse(input)) check(*u);
  if (auto u = http::url::parse(first)) {
    check(*u);
    if (auto to = u->resolve(rest)) check(*to);
  }
  challenge(input);
  challenge(first);
  challenge(rest);
  return 0;
}
