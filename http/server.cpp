#include "http/server.hpp"

#include <sys/sendfile.h>
#include <sys/socket.h>
#include <unistd.h>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <charconv>
#include <memory>

#include "http/detail/asio.hpp"
#include "http/oci_error.hpp"
#include "layers/error.hpp"

namespace rookery::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace {

using detail::awaitable_ec;

std::error_code to_std(const boost::system::error_code& ec) {
  return ec;
}

// To a client on this host a copy through a small buffer beats sendfile(2). The client's
// kernel copies every byte anyway; with sendfile that copy is also the read from RAM, all on
// the client's core, while with a copy this core reads the file and the client copies the last
// few KiB out of the cache: bench/proxy.sh measured 1.2x docker-registry's rate against
// 0.65x with sendfile. 32 KiB measured best (16 and 64 KiB slower). A network card takes
// sendfile's pages without any copy, so remote clients keep it.
constexpr std::size_t copy_buffer = 32 * 1024;

// Sends up to `count` bytes of `fd` from `*position` (advanced); like sendfile(2).
ssize_t send_some(int socket, int fd, off_t* position, std::size_t count, char* buffer) {
  if (!buffer) return ::sendfile(socket, fd, position, count);
  const ssize_t got = ::pread(fd, buffer, std::min(count, copy_buffer), *position);
  if (got <= 0) return got;
  const ssize_t sent = ::send(socket, buffer, static_cast<std::size_t>(got), MSG_NOSIGNAL);
  if (sent > 0) *position += sent;
  return sent;
}

}  // namespace

void exchange::decorate(bhttp::fields& fields) const {
  fields.set(bhttp::field::server, opts_.server_name);
  for (const auto& f : extra_) fields.set(f.name_string(), f.value());
}

asio::awaitable<std::error_code> exchange::send(string_response res) {
  res.version(req_.version());
  res.keep_alive(req_.keep_alive());
  decorate(res);
  res.prepare_payload();
  status_ = res.result_int();
  if (is_head()) {
    // Keep the length of the body a GET would get, send no body.
    response_header header = std::move(res.base());
    co_return co_await send_header(std::move(header));
  }
  boost::system::error_code ec;
  stream_.expires_after(opts_.write_timeout);
  co_await bhttp::async_write(stream_, res, awaitable_ec(ec));
  header_sent_ = true;
  body_left_ = 0;
  co_return to_std(ec);
}

asio::awaitable<std::error_code> exchange::send_header(response_header header) {
  bhttp::response<bhttp::empty_body> res(std::move(header));
  status_ = res.result_int();
  res.version(req_.version());
  res.keep_alive(req_.keep_alive());
  decorate(res);
  std::uint64_t length = 0;
  if (auto it = res.find(bhttp::field::content_length); it != res.end()) {
    length = std::stoull(std::string(it->value()));
  }
  bhttp::response_serializer<bhttp::empty_body> sr(res);
  boost::system::error_code ec;
  stream_.expires_after(opts_.write_timeout);
  co_await bhttp::async_write_header(stream_, sr, awaitable_ec(ec));
  header_sent_ = true;
  body_left_ = is_head() ? 0 : length;
  co_return to_std(ec);
}

asio::awaitable<std::error_code> exchange::send_chunked_header(response_header header) {
  bhttp::response<bhttp::empty_body> res(std::move(header));
  status_ = res.result_int();
  res.version(req_.version());
  res.keep_alive(req_.keep_alive());
  decorate(res);
  res.erase(bhttp::field::content_length);
  res.chunked(true);
  bhttp::response_serializer<bhttp::empty_body> sr(res);
  boost::system::error_code ec;
  stream_.expires_after(opts_.write_timeout);
  co_await bhttp::async_write_header(stream_, sr, awaitable_ec(ec));
  header_sent_ = true;
  body_left_ = 0;
  chunks_open_ = !is_head() && !ec;
  co_return to_std(ec);
}

asio::awaitable<std::error_code> exchange::write_chunk(std::string_view data) {
  if (!chunks_open_ || data.empty()) co_return std::error_code{};
  boost::system::error_code ec;
  stream_.expires_after(opts_.write_timeout);
  // Named before co_await (GCC 12 and temporaries in co_await expressions).
  const auto chunk = bhttp::make_chunk(asio::buffer(data.data(), data.size()));
  co_await asio::async_write(stream_, chunk, awaitable_ec(ec));
  co_return to_std(ec);
}

asio::awaitable<std::error_code> exchange::end_chunks() {
  if (!chunks_open_) co_return std::error_code{};
  boost::system::error_code ec;
  stream_.expires_after(opts_.write_timeout);
  const auto last = bhttp::make_chunk_last();
  co_await asio::async_write(stream_, last, awaitable_ec(ec));
  if (!ec) chunks_open_ = false;
  co_return to_std(ec);
}

asio::awaitable<std::error_code> exchange::write(const void* data, std::size_t size) {
  boost::system::error_code ec;
  stream_.expires_after(opts_.write_timeout);
  co_await asio::async_write(stream_, asio::buffer(data, size), awaitable_ec(ec));
  if (!ec) account(size);
  co_return to_std(ec);
}

asio::awaitable<std::error_code> exchange::send_file(int fd, std::uint64_t offset,
                                                     std::uint64_t count) {
  stream_.expires_never();  // Beast timeouts do not see raw socket waits; we keep our own
  auto& socket = stream_.socket();
  if (!socket.native_non_blocking()) socket.native_non_blocking(true);
  off_t position = static_cast<off_t>(offset);
  std::uint64_t left = count;
  std::unique_ptr<char[]> buffer;
  if (opts_.copy_to_local && remote_.is_loopback()) buffer = std::make_unique<char[]>(copy_buffer);
  while (left > 0) {
    const std::size_t chunk = left < (std::uint64_t{1} << 30) ? left : (std::size_t{1} << 30);
    const ssize_t n = send_some(socket.native_handle(), fd, &position, chunk, buffer.get());
    if (n > 0) {
      left -= static_cast<std::uint64_t>(n);
      account(static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) co_return make_error_code(errc::size_invalid);  // file shorter than promised
    if (errno == EINTR) continue;
    if (errno != EAGAIN) co_return std::error_code(errno, std::system_category());
    // Wait until the socket drains, but not forever: a client that stops reading is dropped.
    asio::steady_timer timer(socket.get_executor());
    timer.expires_after(opts_.write_timeout);
    timer.async_wait([&socket](boost::system::error_code e) {
      if (!e) socket.cancel();
    });
    boost::system::error_code ec;
    co_await socket.async_wait(asio::ip::tcp::socket::wait_write, awaitable_ec(ec));
    timer.cancel();
    if (ec) co_return to_std(ec);
  }
  co_return std::error_code{};
}

std::optional<asio::ip::tcp::endpoint> parse_endpoint(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string host(text.substr(0, colon));
  if (host.size() > 1 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned port = 0;
  const auto digits = text.substr(colon + 1);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  if (ec != std::errc{} || end != digits.data() + digits.size() || port > 65535)
    return std::nullopt;
  boost::system::error_code bad;
  const auto address = asio::ip::make_address(host, bad);
  if (bad) return std::nullopt;
  return asio::ip::tcp::endpoint(address, static_cast<unsigned short>(port));
}

server::server(asio::io_context& io, const asio::ip::tcp::endpoint& endpoint, handler h,
               server_options opts)
    : io_(io), acceptor_(io), handler_(std::move(h)), opts_(std::move(opts)), slot_freed_(io) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(asio::socket_base::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void server::start() {
  asio::co_spawn(io_, accept_loop(), asio::detached);
}

asio::awaitable<void> server::accept_loop() {
  for (;;) {
    // At the cap, new clients wait in the kernel's backlog until a connection closes.
    while (connections_ >= opts_.max_connections) co_await pause(std::chrono::seconds(1));
    boost::system::error_code ec;
    auto socket = co_await acceptor_.async_accept(awaitable_ec(ec));
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      spdlog::warn("accept: {}", ec.message());
      // Out of descriptors (EMFILE/ENFILE) or the like: retrying at once would spin.
      co_await pause(std::chrono::milliseconds(100));
      continue;
    }
    socket.set_option(asio::ip::tcp::no_delay(true));
    ++connections_;
    asio::co_spawn(io_, serve(beast::tcp_stream(std::move(socket))), [this](std::exception_ptr) {
      --connections_;
      slot_freed_.cancel();
    });
  }
}

asio::awaitable<void> server::pause(std::chrono::milliseconds delay) {
  slot_freed_.expires_after(delay);
  boost::system::error_code ignored;  // cancel() (a connection closed) ends the pause early
  co_await slot_freed_.async_wait(awaitable_ec(ignored));
}

asio::awaitable<void> server::serve(beast::tcp_stream stream) {
  beast::flat_buffer buffer;
  boost::system::error_code peer_ec;
  const auto remote = stream.socket().remote_endpoint(peer_ec).address();
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(opts_.header_limit));
    parser.body_limit(opts_.body_limit);
    boost::system::error_code ec;
    stream.expires_after(opts_.idle_timeout);
    co_await bhttp::async_read(stream, buffer, parser, awaitable_ec(ec));
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof ||
        ec == beast::error::timeout || ec == asio::error::connection_reset) {
      break;
    }
    if (ec) {
      // Malformed or oversized request: answer once, then close.
      const bool too_large = ec == bhttp::error::body_limit;
      const auto code = make_error_code(too_large ? errc::too_large : errc::unsupported);
      string_response res{too_large ? bhttp::status::payload_too_large : bhttp::status::bad_request,
                          11};
      res.set(bhttp::field::content_type, "application/json");
      res.body() = oci_error_body(code, "malformed request: " + ec.message());
      res.keep_alive(false);
      res.prepare_payload();
      stream.expires_after(std::chrono::seconds(5));
      co_await bhttp::async_write(stream, res, awaitable_ec(ec));
      break;
    }
    request req = parser.release();
    exchange ex(stream, req, opts_, remote);
    try {
      co_await handler_(ex);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} failed: {}", std::string(req.target()), e.what());
    }
    spdlog::debug("{} {} -> {}", std::string(req.method_string()), std::string(req.target()),
                  ex.status());
    if (!ex.header_sent()) {
      string_response res{bhttp::status::internal_server_error, req.version()};
      res.set(bhttp::field::content_type, "application/json");
      res.body() = oci_error_body(errc::store_failure, "internal error");
      co_await ex.send(std::move(res));
    }
    if (!ex.complete() || !req.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

}  // namespace rookery::http
