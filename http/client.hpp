// HTTP(S) client for talking to registries: connect and first-byte timeouts, redirects
// (registries send blobs to object storage), and bodies streamed in bounded chunks.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace rookery::http {

/// An absolute http(s) URL split into what a request needs.
struct url {
  std::string scheme;  ///< "http" or "https"
  std::string host;
  std::string port;
  std::string target;  ///< path and query, at least "/"

  /// Parses `http://host[:port][/path]`; nullopt for anything else.
  static std::optional<url> parse(std::string_view text);
  bool tls() const noexcept { return scheme == "https"; }
  /// The Host header value (port omitted when it is the scheme's default).
  std::string authority() const;
  /// The URL a redirect `location` (absolute, or absolute path) points to.
  std::optional<url> resolve(std::string_view location) const;
  std::string str() const { return scheme + "://" + authority() + target; }
};

struct client_options {
  std::chrono::milliseconds connect_timeout{3000};    ///< DNS + TCP + TLS handshake
  std::chrono::milliseconds response_timeout{10000};  ///< request sent → response header read
  std::chrono::milliseconds idle_timeout{30000};      ///< no body byte for this long
  int max_redirects = 5;
};

/// A response whose header has been read; the body is pulled with read_some()/read_body().
/// Owns its connection. Not thread-safe.
class response_stream {
 public:
  response_stream(const response_stream&) = delete;
  ~response_stream();

  unsigned status() const { return parser_.get().result_int(); }
  const boost::beast::http::fields& headers() const { return parser_.get().base(); }
  std::string header(boost::beast::http::field f) const { return std::string(parser_.get()[f]); }
  std::optional<std::uint64_t> content_length() const;
  /// The URL that finally answered (after redirects).
  const url& where() const noexcept { return where_; }

  /// Reads up to `size` body bytes; returns 0 with no error once the body is complete.
  boost::asio::awaitable<std::size_t> read_some(void* data, std::size_t size, std::error_code& ec);
  /// Reads the whole body into `out`; errc::size_invalid past `limit`.
  boost::asio::awaitable<std::error_code> read_body(std::string& out, std::size_t limit);
  bool done() const { return parser_.is_done(); }

 private:
  friend boost::asio::awaitable<std::unique_ptr<response_stream>> send_request(
      boost::asio::any_io_executor, boost::asio::ssl::context&, boost::beast::http::verb,
      const url&, const boost::beast::http::fields&, std::string, const client_options&,
      std::error_code&);
  explicit response_stream(boost::asio::any_io_executor ex, const client_options& opts)
      : ex_(std::move(ex)), opts_(opts) {}
  boost::beast::tcp_stream& lowest();
  template <class Op>
  boost::asio::awaitable<void> on_stream(Op op);
  boost::asio::awaitable<std::error_code> open(boost::asio::ssl::context& tls, const url& where);
  boost::asio::awaitable<std::error_code> exchange(boost::beast::http::verb method,
                                                   const url& where,
                                                   const boost::beast::http::fields& headers,
                                                   const std::string& body);

  boost::asio::any_io_executor ex_;
  std::unique_ptr<boost::beast::tcp_stream> plain_;                          ///< set for http
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;  ///< set for https
  boost::beast::flat_buffer buffer_;
  boost::beast::http::response_parser<boost::beast::http::buffer_body> parser_;
  client_options opts_;
  url where_;
  bool head_ = false;
};

/// Sends one request and reads the response header, following redirects for GET and HEAD
/// (Authorization is dropped when a redirect leaves the original host). On failure returns
/// null with errc::upstream_unavailable (unreachable, timed out) or upstream_bad_response.
boost::asio::awaitable<std::unique_ptr<response_stream>> send_request(
    boost::asio::any_io_executor ex, boost::asio::ssl::context& tls,
    boost::beast::http::verb method, const url& where, const boost::beast::http::fields& headers,
    const client_options& opts, std::error_code& ec);

/// The same with a request body (e.g. a JSON POST; Content-Type comes from `headers`). Only
/// GET and HEAD follow redirects.
boost::asio::awaitable<std::unique_ptr<response_stream>> send_request(
    boost::asio::any_io_executor ex, boost::asio::ssl::context& tls,
    boost::beast::http::verb method, const url& where, const boost::beast::http::fields& headers,
    std::string body, const client_options& opts, std::error_code& ec);

/// send_request (no body) with a twin: when no response header came within `twin_after`, the
/// same request goes out once more on a new connection, and the first response wins (the other
/// is dropped unread). Both end by the first one's timeouts, so a silent server costs no more
/// time than with send_request. For small idempotent requests (a manifest, a HEAD, a torrent's
/// metainfo) on a link where a lost segment can hold one connection for seconds while a new
/// one gets through.
boost::asio::awaitable<std::unique_ptr<response_stream>> send_request_with_twin(
    boost::asio::any_io_executor ex, boost::asio::ssl::context& tls,
    boost::beast::http::verb method, const url& where, const boost::beast::http::fields& headers,
    const client_options& opts, std::chrono::milliseconds twin_after, std::error_code& ec);

/// A client TLS context that verifies peers against the system's CA store.
boost::asio::ssl::context make_client_tls_context();

}  // namespace rookery::http
