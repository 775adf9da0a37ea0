// How the CLI talks to proxies and seeders: rookery's own HTTP client (http/client), one
// request at a time per coroutine, answers bounded, streamed bodies split into lines.
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <functional>
#include <string>
#include <string_view>

#include "cli/hosts.hpp"
#include "http/client.hpp"

namespace rookery::cli {

/// An answer read whole: status and body, or `error` when no answer came.
struct reply {
  unsigned status = 0;
  std::string body;
  std::string error;  ///< transport failure, for a human
  bool ok() const { return error.empty() && status >= 200 && status < 300; }
};

/// Requests to rookery's HTTP APIs. Lives on one io_context; not thread-safe.
class api_client {
 public:
  api_client(boost::asio::io_context& io, http::client_options opts);

  /// Sends `method target` to `to` (a JSON body when `json_body` is not empty) and reads the
  /// answer (at most 16 MiB).
  boost::asio::awaitable<reply> call(const host& to, boost::beast::http::verb method,
                                     std::string target, std::string json_body,
                                     std::string authorization);
  /// GETs `target` and hands each line of the body to `on_line` as it arrives (a line is at
  /// most 1 MiB). Returns the error for a human; empty when the body ended normally.
  boost::asio::awaitable<std::string> follow_lines(
      const host& to, std::string target, std::string authorization,
      const std::function<void(std::string_view)>& on_line);

 private:
  boost::asio::io_context& io_;
  boost::asio::ssl::context tls_;
  http::client_options opts_;
};

/// "HTTP 401 UNAUTHORIZED: authentication required" from an OCI error body, else "HTTP 502".
std::string describe_failure(unsigned status, std::string_view body);

/// Hands each complete line of `buffer` (without its '\n') to `on_line` and keeps the rest.
void take_lines(std::string& buffer, const std::function<void(std::string_view)>& on_line);

/// "Bearer TOKEN" from `file` (its first line) or else the environment variable `env`; empty
/// when neither is set. Throws std::invalid_argument when `file` is given but unreadable.
std::string bearer_from(const std::string& file, const char* env);

}  // namespace rookery::cli
