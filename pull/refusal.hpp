// An upstream's refusal (401 with its challenge, 403, 404, 429...) that a client must see as is.
#pragma once

#include <string>

#include "http/client.hpp"
#include "http/server.hpp"

namespace rookery::pull {

struct upstream_refusal {
  unsigned status = 0;
  std::string content_type;
  std::string www_authenticate;
  std::string retry_after;
  std::string body;  ///< bounded
};

/// Reads `source`'s error response into a refusal to relay (body capped at 64 KiB).
boost::asio::awaitable<upstream_refusal> read_refusal(http::response_stream& source);

/// Sends the refusal as it came (status, challenge, Retry-After, body).
boost::asio::awaitable<void> send_refusal(http::exchange& ex, const upstream_refusal& refusal);

}  // namespace rookery::pull
