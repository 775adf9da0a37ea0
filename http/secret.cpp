#include "http/secret.hpp"

#include <openssl/crypto.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>

namespace rookery::http {

secret secret::load(const std::string& file, const char* env) {
  if (!file.empty()) {
    std::ifstream in(file);
    std::string line;
    if (!in || !std::getline(in, line)) throw std::runtime_error("cannot read secret file " + file);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty()) throw std::runtime_error("secret file " + file + " is empty");
    return of(std::move(line));
  }
  const char* value = env ? std::getenv(env) : nullptr;
  return of(value ? value : "");
}

secret secret::of(std::string value) {
  secret s;
  s.value_ = std::move(value);
  return s;
}

bool secret::admits(std::string_view authorization) const noexcept {
  constexpr std::string_view scheme = "Bearer ";
  if (value_.empty() || authorization.size() != scheme.size() + value_.size() ||
      authorization.substr(0, scheme.size()) != scheme)
    return false;
  return CRYPTO_memcmp(authorization.data() + scheme.size(), value_.data(), value_.size()) == 0;
}

}  // namespace rookery::http
