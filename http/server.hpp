// A small HTTP/1.1 server: one coroutine per connection (Beast + Asio awaitables), bounded
// request headers, idle and write timeouts, keep-alive. The handler answers each request
// through an `exchange`, which can stream large bodies (including sendfile from disk).
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <system_error>

namespace rookery::http {

using request = boost::beast::http::request<boost::beast::http::string_body>;
using string_response = boost::beast::http::response<boost::beast::http::string_body>;
using response_header = boost::beast::http::response_header<>;

struct server_options {
  std::size_t header_limit = 16 * 1024;    ///< request line + headers
  std::size_t body_limit = 64 * 1024;      ///< request bodies (JSON control requests)
  std::chrono::seconds idle_timeout{60};   ///< waiting for the next request
  std::chrono::seconds write_timeout{60};  ///< a client that reads nothing for this long is dropped
  std::size_t max_connections = 4096;      ///< beyond this, new connections wait in the backlog
  std::string server_name = "rookery";
  bool copy_to_local = true;  ///< send_file copies to a loopback client instead of sendfile(2)
};

/// One request and the means to answer it. Created by the server, valid during the handler.
/// A handler sends exactly one response: send(), or send_header() followed by body writes
/// that add up to the announced Content-Length. HEAD requests get headers only.
class exchange {
 public:
  exchange(boost::beast::tcp_stream& stream, request& req, const server_options& opts,
           boost::asio::ip::address remote)
      : stream_(stream), req_(req), opts_(opts), remote_(std::move(remote)) {}

  const request& req() const noexcept { return req_; }
  bool is_head() const noexcept { return req_.method() == boost::beast::http::verb::head; }
  /// The client's address.
  const boost::asio::ip::address& remote_address() const noexcept { return remote_; }

  /// Sends a complete response; Content-Length is set from the body (kept for HEAD).
  boost::asio::awaitable<std::error_code> send(string_response res);
  /// Sends a response header; Content-Length must be set. For HEAD this completes the exchange.
  boost::asio::awaitable<std::error_code> send_header(response_header header);
  /// Writes body bytes after send_header().
  boost::asio::awaitable<std::error_code> write(const void* data, std::size_t size);
  /// Writes `count` bytes of `fd` from `offset` after send_header(): with sendfile(2), or to a
  /// client on this host through a small buffer (faster there, see server.cpp).
  boost::asio::awaitable<std::error_code> send_file(int fd, std::uint64_t offset,
                                                    std::uint64_t count);

  /// Sends a response header with `Transfer-Encoding: chunked` (no Content-Length): a body of
  /// unknown length follows as write_chunk() calls closed by end_chunks(). For HEAD this
  /// completes the exchange.
  boost::asio::awaitable<std::error_code> send_chunked_header(response_header header);
  /// Writes one chunk (non-empty) after send_chunked_header().
  boost::asio::awaitable<std::error_code> write_chunk(std::string_view data);
  /// Writes the last chunk: the response is complete.
  boost::asio::awaitable<std::error_code> end_chunks();

  /// Adds a header to whatever response this exchange sends (e.g. API version, namespace).
  void always_set(std::string_view name, std::string_view value) { extra_.set(name, value); }

  /// True once a full response went out, so the connection may serve the next request.
  bool complete() const noexcept { return header_sent_ && body_left_ == 0 && !chunks_open_; }
  bool header_sent() const noexcept { return header_sent_; }
  /// The status sent, 0 before.
  unsigned status() const noexcept { return status_; }

 private:
  void decorate(boost::beast::http::fields& fields) const;
  void account(std::size_t n) noexcept { body_left_ -= n <= body_left_ ? n : body_left_; }

  boost::beast::tcp_stream& stream_;
  request& req_;
  const server_options& opts_;
  boost::asio::ip::address remote_;
  boost::beast::http::fields extra_;
  bool header_sent_ = false;
  bool chunks_open_ = false;  ///< a chunked body was begun and not ended
  unsigned status_ = 0;
  std::uint64_t body_left_ = 0;
};

using handler = std::function<boost::asio::awaitable<void>(exchange&)>;

/// "ADDRESS:PORT" ("[v6]:PORT" too) as an endpoint; nullopt when malformed.
std::optional<boost::asio::ip::tcp::endpoint> parse_endpoint(std::string_view text);

/// Accepts connections on an endpoint and runs `handler` for every request. Single
/// io_context; the handler runs on it.
class server {
 public:
  server(boost::asio::io_context& io, const boost::asio::ip::tcp::endpoint& endpoint, handler h,
         server_options opts = {});
  /// Starts accepting (a coroutine on the io_context).
  void start();
  boost::asio::ip::tcp::endpoint local_endpoint() const { return acceptor_.local_endpoint(); }

 private:
  boost::asio::awaitable<void> accept_loop();
  /// Waits `delay`, or less when a connection closes meanwhile.
  boost::asio::awaitable<void> pause(std::chrono::milliseconds delay);
  boost::asio::awaitable<void> serve(boost::beast::tcp_stream stream);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::acceptor acceptor_;
  handler handler_;
  server_options opts_;
  std::size_t connections_ = 0;           ///< open now
  boost::asio::steady_timer slot_freed_;  ///< cancelled when a connection closes
};

}  // namespace rookery::http
