// A request as the proxy's and the seeder's HTTP server reads it: Beast's request parser with
// the server's limits (http/server.cpp: 16 KiB of head, 64 KiB of body), then the target
// through the proxy's routes and a Range header through resolve_range.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <system_error>

#include "http/range.hpp"
#include "http/server.hpp"
#include "registry-proxy/routes.hpp"
#include "tests/fuzz/check.hpp"

using namespace rookery;
namespace bhttp = boost::beast::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const http::server_options limits{};
  bhttp::request_parser<bhttp::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
  parser.body_limit(limits.body_limit);
  boost::system::error_code ec;
  std::size_t used = 0;
  while (used < size && !parser.is_done()) {
    const std::size_t n = parser.put(boost::asio::buffer(data + used, size - used), ec);
    used += n;
    if (ec || n == 0) break;
  }
  if (ec == bhttp::error::need_more || (!ec && !parser.is_done())) {
    ec = {};
    parser.put_eof(ec);  // the client closed the connection here
  }
  if (ec || !parser.is_done()) return 0;
  const auto& req = parser.get();
  FUZZ_CHECK(req.body().size() <= limits.body_limit);
  std::error_code route_ec;
  (void)proxy::parse_route(req.target(), route_ec);
  if (auto range = req.find(bhttp::field::range); range != req.end())
    (void)http::resolve_range(range->value(), 4 * 1024 * 1024);
  (void)req.keep_alive();
  return 0;
}
