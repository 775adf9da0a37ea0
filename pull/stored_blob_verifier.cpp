#include "pull/stored_blob_verifier.hpp"

#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "http/offload.hpp"
#include "layers/store_check.hpp"

namespace rookery::pull {
namespace asio = boost::asio;

asio::awaitable<bool> stored_blob_verifier::wait_for(std::shared_ptr<pending> p) {
  while (!p->good) {
    boost::system::error_code ignored;  // cancel() is the wake-up
    co_await p->done.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  }
  co_return *p->good;
}

asio::awaitable<verify_outcome> stored_blob_verifier::verify(
    const layers::blob_store::lease& blob) {
  if (blob.verified()) co_return verify_outcome{true, false};
  const layers::digest d = blob.digest();
  if (auto it = hashing_.find(d); it != hashing_.end()) {
    const bool good = co_await wait_for(it->second);
    co_return verify_outcome{good, false};
  }
  const auto mine = std::make_shared<pending>(io_);
  hashing_.emplace(d, mine);
  const int fd = blob.fd();
  const std::uint64_t size = blob.size();
  const bool good = co_await http::offload(
      io_, pool_, [fd, size, &d] { return layers::content_matches(fd, size, d); });
  if (good) {
    store_.mark_verified(d);
  } else {
    store_.quarantine(d);
  }
  hashing_.erase(d);
  mine->good = good;
  mine->done.cancel();
  co_return verify_outcome{good, true};
}

}  // namespace rookery::pull
