#include "pull/refusal.hpp"

namespace rookery::pull {
namespace bhttp = boost::beast::http;

boost::asio::awaitable<upstream_refusal> read_refusal(http::response_stream& source) {
  upstream_refusal out;
  out.status = source.status();
  out.content_type = source.header(bhttp::field::content_type);
  out.www_authenticate = source.header(bhttp::field::www_authenticate);
  out.retry_after = source.header(bhttp::field::retry_after);
  if (co_await source.read_body(out.body, 64 * 1024)) out.body.clear();
  co_return out;
}

boost::asio::awaitable<void> send_refusal(http::exchange& ex, const upstream_refusal& refusal) {
  http::string_response res{static_cast<bhttp::status>(refusal.status), 11};
  if (!refusal.content_type.empty()) res.set(bhttp::field::content_type, refusal.content_type);
  if (!refusal.www_authenticate.empty()) {
    res.set(bhttp::field::www_authenticate, refusal.www_authenticate);
  }
  if (!refusal.retry_after.empty()) res.set(bhttp::field::retry_after, refusal.retry_after);
  res.body() = refusal.body;
  co_await ex.send(std::move(res));
}

}  // namespace rookery::pull
