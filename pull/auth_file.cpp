#include "pull/auth_file.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace rookery::pull {
namespace {

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// USER:PASSWORD from an entry's "auth"; throws naming the registry, never the value.
registry_login login_of(const nlohmann::json& auth, const std::string& where) {
  if (!auth.is_string()) throw auth_file_error(where + ": \"auth\" is not a string");
  const auto plain = decode_base64(auth.get<std::string>());
  if (!plain) throw auth_file_error(where + ": \"auth\" is not base64");
  const auto colon = plain->find(':');
  if (colon == std::string::npos || colon == 0)
    throw auth_file_error(where + ": \"auth\" is not base64 of USER:PASSWORD");
  return {plain->substr(0, colon), plain->substr(colon + 1)};
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  for (char c : text) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/' && c != '=')
      return std::nullopt;
  }
  std::string out(text.size() / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  const auto padding = text.size() - text.find_last_not_of('=') - 1;
  if (padding > 2 || text.substr(0, text.size() - padding).find('=') != std::string_view::npos)
    return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - padding);
  return out;
}

std::string registry_authority_of(std::string_view key) {
  if (const auto scheme = key.find("://"); scheme != std::string_view::npos)
    key.remove_prefix(scheme + 3);
  key = key.substr(0, key.find('/'));
  return lower(std::string(key));
}

auth_file auth_file::parse(std::string_view text, const std::string& source) {
  auth_file out;
  out.source_ = source;
  const auto doc = nlohmann::json::parse(text, nullptr, false);
  // The parser's own message quotes the text around the error: it could quote a secret.
  if (doc.is_discarded()) throw auth_file_error("auth file " + source + " is not valid JSON");
  const auto auths = doc.is_object() ? doc.find("auths") : doc.end();
  if (!doc.is_object() || auths == doc.end() || !auths->is_object())
    throw auth_file_error("auth file " + source + " has no \"auths\" object");
  for (const auto& [key, entry] : auths->items()) {
    const std::string authority = registry_authority_of(key);
    if (authority.empty())
      throw auth_file_error("auth file " + source + ": an entry names no registry host");
    const std::string where = "auth file " + source + ", registry " + authority;
    if (!entry.is_object()) throw auth_file_error(where + ": the entry is not an object");
    const auto auth = entry.find("auth");
    if (auth == entry.end() || (auth->is_string() && auth->get<std::string>().empty())) {
      out.skipped_.push_back(authority);
      continue;
    }
    out.logins_[authority] = login_of(*auth, where);
  }
  return out;
}

auth_file auth_file::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw auth_file_error("auth file " + path + " cannot be read");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw auth_file_error("auth file " + path + " cannot be read");
  return parse(text.str(), path);
}

std::optional<registry_login> auth_file::find(std::string_view authority) const {
  auto it = logins_.find(lower(std::string(authority)));
  if (it == logins_.end()) return std::nullopt;
  return it->second;
}

}  // namespace rookery::pull
