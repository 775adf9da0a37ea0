// Serving a stored blob: HEAD and GET, Range (206/416), sendfile.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "http/server.hpp"

namespace rookery::http {

/// The byte span of a blob a response carries.
struct blob_span {
  std::uint64_t first = 0;
  std::uint64_t count = 0;
};

/// Resolves the request's Range against a blob of `size` bytes and sends the response header
/// (200 or 206 with Content-Range), or a complete 416. Returns the span to send, or nullopt
/// when nothing more is to be sent (416, HEAD, or the client went away).
boost::asio::awaitable<std::optional<blob_span>> send_blob_header(exchange& ex, std::uint64_t size,
                                                                  const std::string& digest);

/// Sends `size` bytes of `fd` as the blob `digest`, honouring the request's Range header.
/// Returns the body bytes sent (0 for HEAD, errors, 416).
boost::asio::awaitable<std::uint64_t> send_blob(exchange& ex, int fd, std::uint64_t size,
                                                std::string digest);

}  // namespace rookery::http
