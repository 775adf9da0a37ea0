// Small complete responses both binaries send: OCI errors and text.
#pragma once

#include <string>
#include <system_error>

#include "http/server.hpp"

namespace rookery::http {

/// The OCI error JSON for `ec` with its status; `detail` when non-empty.
boost::asio::awaitable<void> send_error(exchange& ex, std::error_code ec, std::string detail = {});
/// 200 with `body` as `type`.
boost::asio::awaitable<void> send_text(exchange& ex, std::string body, std::string type);

}  // namespace rookery::http
