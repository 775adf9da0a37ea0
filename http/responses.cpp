#include "http/responses.hpp"

#include "http/oci_error.hpp"

namespace rookery::http {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

asio::awaitable<void> send_error(exchange& ex, std::error_code ec, std::string detail) {
  string_response res{status_for(ec), 11};
  res.set(bhttp::field::content_type, "application/json");
  res.body() = oci_error_body(ec, detail);
  co_await ex.send(std::move(res));
}

asio::awaitable<void> send_text(exchange& ex, std::string body, std::string type) {
  string_response res{bhttp::status::ok, 11};
  res.set(bhttp::field::content_type, type);
  res.body() = std::move(body);
  co_await ex.send(std::move(res));
}

}  // namespace rookery::http
