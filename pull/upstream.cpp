#include "pull/upstream.hpp"

#include <algorithm>
#include <cctype>

#include <openssl/evp.h>

#include <nlohmann/json.hpp>

#include "http/query.hpp"
#include "layers/error.hpp"

namespace rookery::pull {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace {

// "/v2/<name>/manifests/..." → "<name>", the key under which a token scope is remembered.
std::string repository_of(const std::string& path) {
  for (const char* marker : {"/manifests/", "/blobs/"}) {
    if (auto at = path.rfind(marker); at != std::string::npos && at > 4)
      return path.substr(4, at - 4);
  }
  return path;
}

}  // namespace

std::string basic_authorization(const std::string& user, const std::string& password) {
  const std::string plain = user + ":" + password;
  std::string encoded(4 * ((plain.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(encoded.data()),
                                reinterpret_cast<const unsigned char*>(plain.data()),
                                static_cast<int>(plain.size()));
  encoded.resize(static_cast<std::size_t>(n));
  return "Basic " + encoded;
}

std::string challenge_param(const std::string& challenge, const std::string& key) {
  // Bearer realm="https://auth",service="registry",scope="repository:x:pull" (RFC 7235:
  // names are case-insensitive, values are tokens or quoted strings with \ escapes).
  std::size_t at = challenge.find(' ');  // past the scheme, when there is one
  if (challenge.substr(0, at).find('=') != std::string::npos) at = 0;
  while (at != std::string::npos && at < challenge.size()) {
    at = challenge.find_first_not_of(" ,", at);
    if (at == std::string::npos) break;
    const auto eq = challenge.find('=', at);
    if (eq == std::string::npos) break;
    std::string name = challenge.substr(at, eq - at);
    while (!name.empty() && name.back() == ' ') name.pop_back();
    std::string value;
    at = eq + 1;
    if (at < challenge.size() && challenge[at] == '"') {
      for (++at; at < challenge.size() && challenge[at] != '"'; ++at) {
        if (challenge[at] == '\\' && at + 1 < challenge.size()) ++at;
        value += challenge[at];
      }
      if (at >= challenge.size()) return {};  // no closing quote
      ++at;
    } else {
      const auto end = challenge.find(',', at);
      value = challenge.substr(at, end == std::string::npos ? std::string::npos : end - at);
      at = end;
    }
    // std::tolower takes an unsigned char's value: a negative char would be undefined.
    if (std::equal(
            name.begin(), name.end(), key.begin(), key.end(),
            [](unsigned char a, unsigned char b) { return std::tolower(a) == std::tolower(b); }))
      return value;
  }
  return {};
}

asio::awaitable<std::unique_ptr<http::response_stream>> upstream::send_once(
    const upstream_call& call, const std::string& auth, std::error_code& ec) {
  bhttp::fields headers;
  if (!auth.empty()) headers.set(bhttp::field::authorization, auth);
  if (!call.accept.empty()) headers.set(bhttp::field::accept, call.accept);
  if (!call.range.empty()) headers.set(bhttp::field::range, call.range);
  http::url where = config_.base;
  where.target = call.path;
  auto ex = co_await asio::this_coro::executor;
  if (!call.twin)
    co_return co_await http::send_request(ex, tls_, call.method, where, headers, opts_, ec);
  // A twin after a third of the first-byte timeout (at most 2 s): well past a healthy answer.
  const auto twin_after =
      std::min<std::chrono::milliseconds>(opts_.response_timeout / 3, std::chrono::seconds(2));
  co_return co_await http::send_request_with_twin(ex, tls_, call.method, where, headers, opts_,
                                                  twin_after, ec);
}

asio::awaitable<std::unique_ptr<http::response_stream>> upstream::send(const upstream_call& call,
                                                                       std::error_code& ec) {
  if (!call.authorization.empty() || !has_credentials() || !call.own_credentials) {
    co_return co_await send_once(call, call.authorization, ec);
  }
  // Proxy-side credentials: reuse a token for this repository while it is valid.
  const std::string repo = repository_of(call.path);
  std::string auth;
  if (auto c = auth_.challenge(repo)) {
    auth = co_await fetch_token(*c, ec);
    if (ec) auth.clear();
  }
  auto res = co_await send_once(call, auth, ec);
  if (!res || res->status() != 401) co_return res;
  const std::string challenge = res->header(bhttp::field::www_authenticate);
  if (challenge.rfind("Basic", 0) == 0) {
    auth = basic_authorization(config_.username, config_.password);
  } else if (challenge.rfind("Bearer", 0) == 0) {
    auth_.put_challenge(repo, challenge);
    auth = co_await fetch_token(challenge, ec);
    if (ec) co_return res;  // relay the 401: the token service refused us
  } else {
    co_return res;
  }
  co_return co_await send_once(call, auth, ec);
}

asio::awaitable<std::string> upstream::fetch_token(const std::string& challenge,
                                                   std::error_code& ec) {
  const std::string realm = challenge_param(challenge, "realm");
  const std::string service = challenge_param(challenge, "service");
  const std::string scope = challenge_param(challenge, "scope");
  const std::string key = realm + "|" + service + "|" + scope;
  const auto now = std::chrono::steady_clock::now();
  if (auto t = auth_.token(key, now)) co_return "Bearer " + *t;
  auto where = http::url::parse(realm);
  if (!where) {
    ec = errc::upstream_bad_response;
    co_return std::string{};
  }
  where->target += (where->target.find('?') == std::string::npos ? "?" : "&");
  where->target +=
      "service=" + http::percent_encode(service) + "&scope=" + http::percent_encode(scope);
  bhttp::fields headers;
  headers.set(bhttp::field::authorization, basic_authorization(config_.username, config_.password));
  auto ex = co_await asio::this_coro::executor;
  auto res = co_await http::send_request(ex, tls_, bhttp::verb::get, *where, headers, opts_, ec);
  if (!res) co_return std::string{};
  std::string body;
  if ((ec = co_await res->read_body(body, 64 * 1024))) co_return std::string{};
  if (res->status() != 200) {
    ec = errc::denied;
    co_return std::string{};
  }
  auto doc = nlohmann::json::parse(body, nullptr, false);
  std::string value;
  if (doc.is_object()) {
    for (const char* field : {"token", "access_token"}) {
      if (auto it = doc.find(field); it != doc.end() && it->is_string())
        value = it->get<std::string>();
    }
  }
  if (value.empty()) {
    ec = errc::upstream_bad_response;
    co_return std::string{};
  }
  int lifetime = 60;
  if (auto it = doc.find("expires_in"); it != doc.end() && it->is_number_integer()) {
    lifetime = std::max(10, it->get<int>());
  }
  // Renew a little early so a token never expires between our check and the registry's.
  auth_.put_token(key, value, now + std::chrono::seconds(lifetime - 5), now);
  ec.clear();
  co_return "Bearer " + value;
}

}  // namespace rookery::pull
