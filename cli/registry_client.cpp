#include "cli/registry_client.hpp"

#include <nlohmann/json.hpp>

#include "cli/api_client.hpp"
#include "http/query.hpp"
#include "layers/error.hpp"
#include "layers/manifest.hpp"
#include "pull/upstream.hpp"

namespace rookery::cli {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace {

constexpr std::size_t max_error_body_bytes = 64 * 1024;

http::client_options registry_timeouts() {
  http::client_options o;
  o.response_timeout = std::chrono::seconds(120);  // a registry may hash a large blob at PUT
  o.idle_timeout = std::chrono::seconds(60);
  return o;
}

std::string with_query(std::string target, const std::string& query) {
  return target + (target.find('?') == std::string::npos ? "?" : "&") + query;
}

std::string blob_target(const std::string& repository, const layers::digest& d) {
  return "/v2/" + repository + "/blobs/" + d.str();
}

}  // namespace

asio::awaitable<std::string> describe_answer(http::response_stream& res) {
  std::string body;
  co_await res.read_body(body, max_error_body_bytes);
  co_return describe_failure(res.status(), body);
}

registry_client::registry_client(asio::io_context& io, host registry, std::string username,
                                 std::string password)
    : io_(io),
      tls_(http::make_client_tls_context()),
      opts_(registry_timeouts()),
      registry_(std::move(registry)),
      username_(std::move(username)),
      password_(std::move(password)) {}

http::url registry_client::at(std::string target) const {
  http::url where = registry_.base;
  where.target = std::move(target);
  return where;
}

asio::awaitable<std::unique_ptr<http::response_stream>> registry_client::send(
    bhttp::verb method, const http::url& where, bhttp::fields headers, const std::string& body,
    std::string& why) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!authorization_.empty()) headers.set(bhttp::field::authorization, authorization_);
    std::error_code ec;
    std::string copy = body;  // a second attempt sends it again
    auto res = co_await http::send_request(io_.get_executor(), tls_, method, where, headers,
                                           std::move(copy), opts_, ec);
    if (!res) {
      why = "no answer from " + where.authority() + " (" + ec.message() + ")";
      co_return nullptr;
    }
    if (res->status() != 401 || attempt == 1) co_return res;
    const std::string challenge = res->header(bhttp::field::www_authenticate);
    if (!co_await log_in(challenge, why)) co_return res;  // the caller reports the 401
  }
  co_return nullptr;  // not reached: the second attempt always returns
}

asio::awaitable<bool> registry_client::log_in(const std::string& challenge, std::string& why) {
  if (challenge.rfind("Basic", 0) == 0 && !username_.empty()) {
    authorization_ = pull::basic_authorization(username_, password_);
    co_return true;
  }
  if (challenge.rfind("Bearer", 0) != 0) co_return false;
  const std::string token = co_await fetch_token(challenge, why);
  if (token.empty()) co_return false;
  authorization_ = "Bearer " + token;
  co_return true;
}

asio::awaitable<std::string> registry_client::fetch_token(const std::string& challenge,
                                                          std::string& why) {
  auto where = http::url::parse(pull::challenge_param(challenge, "realm"));
  if (!where) co_return std::string();
  where->target =
      with_query(where->target,
                 "service=" + http::percent_encode(pull::challenge_param(challenge, "service")) +
                     "&scope=" + http::percent_encode(pull::challenge_param(challenge, "scope")));
  bhttp::fields headers;
  if (!username_.empty())
    headers.set(bhttp::field::authorization, pull::basic_authorization(username_, password_));
  std::error_code ec;
  auto res = co_await http::send_request(io_.get_executor(), tls_, bhttp::verb::get, *where,
                                         headers, opts_, ec);
  std::string body;
  if (!res || co_await res->read_body(body, max_error_body_bytes) || res->status() != 200) {
    why = "the registry's token service refused us";
    co_return std::string();
  }
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  for (const char* field : {"token", "access_token"})
    if (doc.is_object() && doc.contains(field) && doc[field].is_string())
      co_return doc[field].get<std::string>();
  co_return std::string();
}

asio::awaitable<bool> registry_client::has_blob(const std::string& repository,
                                                const layers::digest& d, std::string& why) {
  const http::url where = at(blob_target(repository, d));
  const std::string no_body;
  const bhttp::fields no_headers;
  auto res = co_await send(bhttp::verb::head, where, no_headers, no_body, why);
  if (!res) co_return false;
  if (res->status() == 200) co_return true;
  // A HEAD answer has no body to explain itself.
  if (res->status() == 401)
    why = "HTTP 401 UNAUTHORIZED: the registry wants credentials (--creds USER:PASSWORD)";
  else if (res->status() != 404)
    why = describe_failure(res->status(), "");
  co_return false;
}

asio::awaitable<std::string> registry_client::start_upload(const std::string& repository,
                                                           std::string& location) {
  const http::url where = at("/v2/" + repository + "/blobs/uploads/");
  const std::string no_body;
  const bhttp::fields no_headers;
  std::string why;
  auto res = co_await send(bhttp::verb::post, where, no_headers, no_body, why);
  if (!res) co_return why;
  if (res->status() != 202) co_return co_await describe_answer(*res);
  location = res->header(bhttp::field::location);
  co_return location.empty() ? "the registry gave no upload location" : "";
}

// PATCHes the blob in chunks, hashing; returns the failure, "" once every byte was sent and
// matched `d`. `location` follows the registry's answers.
asio::awaitable<std::string> registry_client::send_chunks(const layers::digest& d,
                                                          std::uint64_t size,
                                                          const byte_source& source,
                                                          std::string& location) {
  layers::hasher hash;
  std::string chunk;
  std::uint64_t sent = 0;
  for (bool more = true; more;) {
    chunk.resize(upload_chunk_bytes);
    std::size_t filled = 0;
    for (std::size_t n = 1; n > 0 && filled < chunk.size(); filled += n)
      n = source(chunk.data() + filled, chunk.size() - filled);
    chunk.resize(filled);
    more = filled == upload_chunk_bytes;
    if (filled == 0) break;
    hash.update(chunk);
    auto where = registry_.base.resolve(location);
    if (!where) co_return "a bad upload location: " + location;
    bhttp::fields headers;
    headers.set(bhttp::field::content_type, "application/octet-stream");
    headers.set(bhttp::field::content_range,
                std::to_string(sent) + "-" + std::to_string(sent + filled - 1));
    std::string why;
    auto res = co_await send(bhttp::verb::patch, *where, headers, chunk, why);
    if (!res) co_return why;
    if (res->status() != 202) co_return co_await describe_answer(*res);
    location = res->header(bhttp::field::location);
    sent += filled;
  }
  if (sent != size)
    co_return d.str() + ": read " + std::to_string(sent) + " bytes, expected " +
        std::to_string(size);
  const layers::digest got = hash.finish();
  if (got != d) co_return d.str() + " changed since it was checked: it now hashes to " + got.str();
  co_return std::string();
}

asio::awaitable<std::string> registry_client::upload_blob(const std::string& repository,
                                                          const layers::digest& d,
                                                          std::uint64_t size,
                                                          const byte_source& source) {
  std::string location;
  if (auto why = co_await start_upload(repository, location); !why.empty()) co_return why;
  std::string why = co_await send_chunks(d, size, source, location);
  auto where = registry_.base.resolve(location);
  if (why.empty() && !where) why = "a bad upload location: " + location;
  if (!why.empty()) {
    if (where) {  // cancel, so the registry keeps nothing of it
      std::string ignored;
      const std::string no_body;
      const bhttp::fields no_headers;
      co_await send(bhttp::verb::delete_, *where, no_headers, no_body, ignored);
    }
    co_return why;
  }
  where->target = with_query(where->target, "digest=" + http::percent_encode(d.str()));
  const std::string no_body;
  const bhttp::fields no_headers;
  auto res = co_await send(bhttp::verb::put, *where, no_headers, no_body, why);
  if (!res) co_return why;
  if (res->status() != 201) co_return co_await describe_answer(*res);
  co_return std::string();
}

asio::awaitable<std::string> registry_client::mount_blob(const std::string& repository,
                                                         const layers::digest& d,
                                                         const std::string& from) {
  const http::url where =
      at("/v2/" + repository + "/blobs/uploads/?mount=" + http::percent_encode(d.str()) +
         "&from=" + http::percent_encode(from));
  const std::string no_body;
  const bhttp::fields no_headers;
  std::string why;
  auto res = co_await send(bhttp::verb::post, where, no_headers, no_body, why);
  if (!res) co_return why;
  if (res->status() == 201) co_return std::string();
  if (res->status() == 202) co_return "the registry would not mount " + d.str() + " from " + from;
  co_return co_await describe_answer(*res);
}

asio::awaitable<std::string> registry_client::put_manifest(const std::string& repository,
                                                           const std::string& reference,
                                                           const manifest_document& manifest) {
  const http::url where = at("/v2/" + repository + "/manifests/" + reference);
  bhttp::fields headers;
  headers.set(bhttp::field::content_type, manifest.media_type);
  std::string why;
  auto res = co_await send(bhttp::verb::put, where, headers, manifest.bytes, why);
  if (!res) co_return why;
  if (res->status() != 201) co_return co_await describe_answer(*res);
  co_return std::string();
}

asio::awaitable<std::string> registry_client::get_manifest(const std::string& repository,
                                                           const std::string& reference,
                                                           std::optional<manifest_document>& out) {
  const http::url where = at("/v2/" + repository + "/manifests/" + reference);
  bhttp::fields headers;
  headers.set(bhttp::field::accept, layers::media_type::accept_all);
  const std::string no_body;
  std::string why;
  auto res = co_await send(bhttp::verb::get, where, headers, no_body, why);
  if (!res) co_return why;
  if (res->status() != 200) co_return co_await describe_answer(*res);
  std::string bytes;
  if (co_await res->read_body(bytes, layers::max_manifest_bytes))
    co_return "manifest " + reference + ": incomplete or over 4 MiB";
  out = manifest_document{layers::digest_of(bytes), res->header(bhttp::field::content_type),
                          std::move(bytes)};
  const auto asked = layers::digest::parse(reference);
  const auto told = layers::digest::parse(std::string(res->headers()["Docker-Content-Digest"]));
  const auto& expected = asked ? asked : told;
  if (expected && *expected != out->digest) {
    out.reset();
    co_return "manifest " + reference + " does not match its digest " + expected->str();
  }
  co_return std::string();
}

asio::awaitable<std::unique_ptr<http::response_stream>> registry_client::get_blob(
    const std::string& repository, const layers::digest& d, std::string& why) {
  const http::url where = at(blob_target(repository, d));
  const std::string no_body;
  const bhttp::fields no_headers;
  auto res = co_await send(bhttp::verb::get, where, no_headers, no_body, why);
  if (res && res->status() != 200) {
    const std::string answer = co_await describe_answer(*res);
    why = d.str() + ": " + answer;
    res.reset();
  }
  co_return res;
}

}  // namespace rookery::cli
