#include "http/client.hpp"

#include <openssl/ssl.h>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <charconv>
#include <limits>

#include "http/detail/asio.hpp"
#include "layers/error.hpp"

namespace rookery::http {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace {

using detail::awaitable_ec;

constexpr std::size_t read_buffer_bytes = 256 * 1024;

bool is_redirect(unsigned status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

}  // namespace

// ---- url ------------------------------------------------------------------

std::optional<url> url::parse(std::string_view text) {
  url out;
  if (text.substr(0, 7) == "http://") {
    out.scheme = "http";
    text.remove_prefix(7);
  } else if (text.substr(0, 8) == "https://") {
    out.scheme = "https";
    text.remove_prefix(8);
  } else {
    return std::nullopt;
  }
  const auto slash = text.find_first_of("/?");
  std::string_view authority = text.substr(0, slash);
  out.target = slash == std::string_view::npos ? "/" : std::string(text.substr(slash));
  if (out.target.front() == '?') out.target.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {  // IPv6 literal
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    // An IPv6 address needs brackets; "host:" names no port.
    if (host.find(':') != std::string_view::npos || port.empty()) return std::nullopt;
  }
  unsigned value = 0;
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc{} || end != port.data() + port.size() || value == 0 || value > 65535) {
      return std::nullopt;
    }
  }
  if (host.empty()) return std::nullopt;
  out.host = std::string(host);
  out.port = port.empty() ? (out.tls() ? "443" : "80") : std::string(port);
  return out;
}

std::string url::authority() const {
  const bool default_port = (tls() && port == "443") || (!tls() && port == "80");
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? h : h + ":" + port;
}

std::optional<url> url::resolve(std::string_view location) const {
  if (location.substr(0, 7) == "http://" || location.substr(0, 8) == "https://") {
    return parse(location);
  }
  if (location.empty() || location.front() != '/' || location.substr(0, 2) == "//") {
    return std::nullopt;
  }
  url out = *this;
  out.target = std::string(location);
  return out;
}

// ---- response_stream ------------------------------------------------------

response_stream::~response_stream() = default;

beast::tcp_stream& response_stream::lowest() {
  return tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
}

template <class Op>
asio::awaitable<void> response_stream::on_stream(Op op) {
  if (tls_) {
    co_await op(*tls_);
  } else {
    co_await op(*plain_);
  }
}

std::optional<std::uint64_t> response_stream::content_length() const {
  auto length = parser_.content_length();
  if (!length) return std::nullopt;
  return *length;
}

asio::awaitable<std::error_code> response_stream::open(asio::ssl::context& tls, const url& where) {
  boost::system::error_code ec;
  asio::ip::tcp::resolver resolver(ex_);
  auto endpoints = co_await resolver.async_resolve(where.host, where.port, awaitable_ec(ec));
  if (ec) co_return make_error_code(errc::upstream_unavailable);
  plain_ = std::make_unique<beast::tcp_stream>(ex_);
  plain_->expires_after(opts_.connect_timeout);
  co_await plain_->async_connect(endpoints, awaitable_ec(ec));
  if (ec) co_return make_error_code(errc::upstream_unavailable);
  plain_->socket().set_option(asio::ip::tcp::no_delay(true));
  if (where.tls()) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*plain_), tls);
    plain_.reset();
    if (!SSL_set_tlsext_host_name(tls_->native_handle(), where.host.c_str())) {
      co_return make_error_code(errc::upstream_unavailable);
    }
    tls_->set_verify_callback(asio::ssl::host_name_verification(where.host));
    co_await tls_->async_handshake(asio::ssl::stream_base::client, awaitable_ec(ec));
    if (ec) co_return make_error_code(errc::upstream_unavailable);
  }
  co_return std::error_code{};
}

asio::awaitable<std::error_code> response_stream::exchange(bhttp::verb method, const url& where,
                                                           const bhttp::fields& headers,
                                                           const std::string& body) {
  bhttp::request<bhttp::string_body> req{method, where.target, 11};
  for (const auto& field : headers) req.set(field.name_string(), field.value());
  req.set(bhttp::field::host, where.authority());
  req.set(bhttp::field::user_agent, "rookery");
  req.body() = body;
  if (!body.empty() || method == bhttp::verb::post || method == bhttp::verb::put)
    req.prepare_payload();
  head_ = method == bhttp::verb::head;
  boost::system::error_code ec;
  lowest().expires_after(opts_.response_timeout);
  co_await on_stream([&](auto& stream) -> asio::awaitable<void> {
    co_await bhttp::async_write(stream, req, awaitable_ec(ec));
    if (ec) co_return;
    // Bodies are streamed and bounded by the caller. (Not boost::none: Boost 1.74 compares
    // the length against the empty optional and always reports body_limit.)
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser_.skip(head_);
    co_await bhttp::async_read_header(stream, buffer_, parser_, awaitable_ec(ec));
  });
  if (ec == beast::error::timeout || ec == asio::error::connection_reset ||
      ec == asio::error::eof || ec == asio::error::connection_refused) {
    co_return make_error_code(errc::upstream_unavailable);
  }
  if (ec) {
    spdlog::debug("{} {}: {}", std::string(bhttp::to_string(method)), where.str(), ec.message());
    co_return make_error_code(errc::upstream_bad_response);
  }
  where_ = where;
  co_return std::error_code{};
}

asio::awaitable<std::size_t> response_stream::read_some(void* data, std::size_t size,
                                                        std::error_code& out) {
  out.clear();
  if (parser_.is_done() || size == 0) co_return 0;
  // Beast sizes each socket read by the buffer's free capacity (512 bytes after the header):
  // give it room for large reads, or a blob arrives 512 bytes per system call.
  if (buffer_.capacity() < read_buffer_bytes) buffer_.reserve(read_buffer_bytes);
  auto& body = parser_.get().body();
  body.data = data;
  body.size = size;
  boost::system::error_code ec;
  lowest().expires_after(opts_.idle_timeout);
  co_await on_stream([&](auto& stream) -> asio::awaitable<void> {
    co_await bhttp::async_read_some(stream, buffer_, parser_, awaitable_ec(ec));
  });
  if (ec == bhttp::error::need_buffer) ec = {};
  if (ec == beast::error::timeout) {
    out = errc::upstream_unavailable;
  } else if (ec) {
    out = errc::upstream_bad_response;
  }
  co_return size - body.size;
}

asio::awaitable<std::error_code> response_stream::read_body(std::string& out, std::size_t limit) {
  if (auto length = content_length(); length && *length > limit) {
    co_return make_error_code(errc::size_invalid);
  }
  char chunk[16 * 1024];
  while (!done()) {
    std::error_code ec;
    const std::size_t n = co_await read_some(chunk, sizeof chunk, ec);
    if (ec) co_return ec;
    if (out.size() + n > limit) co_return make_error_code(errc::size_invalid);
    out.append(chunk, n);
  }
  co_return std::error_code{};
}

asio::awaitable<std::unique_ptr<response_stream>> send_request(
    asio::any_io_executor ex, asio::ssl::context& tls, bhttp::verb method, const url& where,
    const bhttp::fields& headers, const client_options& opts, std::error_code& ec) {
  std::string no_body;  // named: GCC 12 and temporaries in co_await expressions
  co_return co_await send_request(std::move(ex), tls, method, where, headers, std::move(no_body),
                                  opts, ec);
}

asio::awaitable<std::unique_ptr<response_stream>> send_request(
    asio::any_io_executor ex, asio::ssl::context& tls, bhttp::verb method, const url& where,
    const bhttp::fields& headers, std::string body, const client_options& opts,
    std::error_code& ec) {
  url current = where;
  bhttp::fields fields = headers;
  for (int hop = 0;; ++hop) {
    std::unique_ptr<response_stream> res(new response_stream(ex, opts));
    ec = co_await res->open(tls, current);
    if (!ec) ec = co_await res->exchange(method, current, fields, body);
    if (ec) co_return nullptr;
    const bool follow = (method == bhttp::verb::get || method == bhttp::verb::head) &&
                        is_redirect(res->status()) && hop < opts.max_redirects;
    if (!follow) co_return res;
    auto next = current.resolve(res->header(bhttp::field::location));
    if (!next) {
      ec = errc::upstream_bad_response;
      co_return nullptr;
    }
    // Presigned object-store URLs carry their own credentials and refuse ours.
    if (next->host != current.host || next->port != current.port)
      fields.erase(bhttp::field::authorization);
    current = std::move(*next);
  }
}

namespace {

/// The tries of one send_request_with_twin, side by side; the first response wins.
struct twin_race {
  explicit twin_race(const asio::any_io_executor& ex) : wake(ex) {}
  asio::steady_timer wake;  ///< cancelled whenever a try ends
  int running = 0;
  bool decided = false;
  std::unique_ptr<response_stream> winner;
  std::error_code failure;  ///< the last try that failed
};

asio::awaitable<void> run_twin(std::shared_ptr<twin_race> race, asio::ssl::context& tls,
                               bhttp::verb method, url where, bhttp::fields headers,
                               client_options opts) {
  std::error_code ec;
  auto ex = co_await asio::this_coro::executor;
  auto res = co_await send_request(ex, tls, method, where, headers, opts, ec);
  --race->running;
  if (res && !race->decided) {
    race->decided = true;
    race->winner = std::move(res);
  } else if (!res) {
    race->failure = ec;
  }
  // A response that lost the race is dropped here: its connection closes unread.
  race->wake.cancel();
}

}  // namespace

asio::awaitable<std::unique_ptr<response_stream>> send_request_with_twin(
    asio::any_io_executor ex, asio::ssl::context& tls, bhttp::verb method, const url& where,
    const bhttp::fields& headers, const client_options& opts, std::chrono::milliseconds twin_after,
    std::error_code& ec) {
  using clock = std::chrono::steady_clock;
  const auto started = clock::now();
  // The first try gives up by then at the latest; the twin keeps to the same end.
  const auto deadline = started + opts.connect_timeout + opts.response_timeout;
  auto race = std::make_shared<twin_race>(ex);
  ++race->running;
  asio::co_spawn(ex, run_twin(race, tls, method, where, headers, opts), asio::detached);
  const auto twin_at = started + twin_after;
  bool twinned = false;
  while (!race->decided && race->running > 0) {
    const bool may_twin = !twinned && twin_at < deadline;
    race->wake.expires_at(may_twin ? twin_at : clock::time_point::max());
    boost::system::error_code ignored;  // cancel() is the wake-up
    co_await race->wake.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
    if (may_twin && !race->decided && race->running > 0 && clock::now() >= twin_at) {
      twinned = true;
      client_options left = opts;
      const auto remaining =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      left.connect_timeout = std::min(opts.connect_timeout, remaining);
      left.response_timeout = remaining;
      ++race->running;
      asio::co_spawn(ex, run_twin(race, tls, method, where, headers, left), asio::detached);
    }
  }
  race->decided = true;  // a later response is dropped
  if (race->winner) {
    if (twinned)
      spdlog::info("{} {}: answered after a second try", where.authority(), where.target);
    ec.clear();
    co_return std::move(race->winner);
  }
  ec = race->failure ? race->failure : make_error_code(errc::upstream_unavailable);
  co_return nullptr;
}

asio::ssl::context make_client_tls_context() {
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_default_verify_paths();
  ctx.set_verify_mode(asio::ssl::verify_peer);
  return ctx;
}

}  // namespace rookery::http
