#include "http/blob_response.hpp"

#include "http/oci_error.hpp"
#include "http/range.hpp"
#include "layers/error.hpp"

namespace rookery::http {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

asio::awaitable<std::optional<blob_span>> send_blob_header(exchange& ex, std::uint64_t size,
                                                           const std::string& digest) {
  const auto range = resolve_range(ex.req()[bhttp::field::range], size);
  if (range.outcome == range_outcome::unsatisfiable) {
    const std::string unsatisfied = "bytes */" + std::to_string(size);
    string_response res{bhttp::status::range_not_satisfiable, 11};
    res.set(bhttp::field::content_range, unsatisfied);
    res.set(bhttp::field::content_type, "application/json");
    res.body() = oci_error_body(errc::range_invalid, unsatisfied);
    co_await ex.send(std::move(res));
    co_return std::nullopt;
  }
  response_header header;
  header.set(bhttp::field::content_type, "application/octet-stream");
  header.set("Docker-Content-Digest", digest);
  header.set(bhttp::field::accept_ranges, "bytes");
  blob_span span{0, size};
  if (range.outcome == range_outcome::partial) {
    span = {range.range.first, range.range.length()};
    header.result(bhttp::status::partial_content);
    header.set(bhttp::field::content_range, "bytes " + std::to_string(range.range.first) + "-" +
                                                std::to_string(range.range.last) + "/" +
                                                std::to_string(size));
  } else {
    header.result(bhttp::status::ok);
  }
  header.set(bhttp::field::content_length, std::to_string(span.count));
  if (co_await ex.send_header(std::move(header)) || ex.is_head()) co_return std::nullopt;
  co_return span;
}

asio::awaitable<std::uint64_t> send_blob(exchange& ex, int fd, std::uint64_t size,
                                         std::string digest) {
  const auto span = co_await send_blob_header(ex, size, digest);
  if (!span || co_await ex.send_file(fd, span->first, span->count)) co_return 0;
  co_return span->count;
}

}  // namespace rookery::http
