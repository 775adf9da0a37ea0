// Internal to http/: the Asio pieces every coroutine here uses.
#pragma once

#include <utility>  // Boost 1.74's awaitable.hpp uses std::exchange without including it

#include <boost/asio/awaitable.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/system/error_code.hpp>

namespace rookery::http::detail {

/// A completion token for `co_await op(..., awaitable_ec(ec))`: errors land in `ec`, no throw.
inline auto awaitable_ec(boost::system::error_code& ec) {
  return boost::asio::redirect_error(boost::asio::use_awaitable, ec);
}

}  // namespace rookery::http::detail
