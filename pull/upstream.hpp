// An upstream registry the proxy mirrors, and how requests reach it: the client's own
// Authorization goes through untouched; without one, proxy-side credentials are used when
// configured (Basic, or a Bearer token fetched from the registry's realm and cached per scope).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "http/client.hpp"
#include "pull/token_cache.hpp"

namespace rookery::pull {

struct upstream_config {
  std::string name;  ///< the ?ns= value that selects it; empty for the default upstream
  http::url base;    ///< e.g. http://127.0.0.1:5000
  std::string username;
  std::string password;  ///< proxy-side credentials; both empty when none
};

/// What a request to one upstream needs besides the path.
struct upstream_call {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string path;           ///< e.g. /v2/library/alpine/manifests/3
  std::string authorization;  ///< the client's header, may be empty
  std::string accept;         ///< forwarded Accept, may be empty
  std::string range;          ///< Range header, may be empty
  /// When the client sent no Authorization: log in with our own credentials (true), or ask
  /// as the anonymous client did (false: access checks on someone else's behalf).
  bool own_credentials = true;
  /// A small GET or HEAD (a manifest, an access check): worth a twin request on a new
  /// connection when the first has no answer after a while (http::send_request_with_twin).
  bool twin = false;
};

/// One upstream registry. Lives on the proxy's io_context; not thread-safe.
class upstream {
 public:
  upstream(upstream_config config, boost::asio::ssl::context& tls, http::client_options opts)
      : config_(std::move(config)), tls_(tls), opts_(opts) {}

  const upstream_config& config() const noexcept { return config_; }
  /// The name shown in OCI-Namespace and logs ("default" for the default upstream).
  std::string display_name() const { return config_.name.empty() ? "default" : config_.name; }

  /// Sends the call and returns the response with its header read (body not yet read).
  boost::asio::awaitable<std::unique_ptr<http::response_stream>> send(const upstream_call& call,
                                                                      std::error_code& ec);

 private:
  boost::asio::awaitable<std::unique_ptr<http::response_stream>> send_once(
      const upstream_call& call, const std::string& auth, std::error_code& ec);
  boost::asio::awaitable<std::string> fetch_token(const std::string& challenge,
                                                  std::error_code& ec);
  bool has_credentials() const { return !config_.username.empty(); }

  upstream_config config_;
  boost::asio::ssl::context& tls_;
  http::client_options opts_;
  token_cache auth_;  ///< tokens by realm|service|scope, challenges by repository (bounded)
};

/// "Basic base64(user:password)".
std::string basic_authorization(const std::string& user, const std::string& password);

/// The value of `key` in a WWW-Authenticate challenge's parameters, empty when absent.
std::string challenge_param(const std::string& challenge, const std::string& key);

}  // namespace rookery::pull
