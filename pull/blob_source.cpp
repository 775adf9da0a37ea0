#include "pull/blob_source.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>

#include "layers/error.hpp"

namespace rookery::pull {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace {

std::atomic<std::uint64_t> resumes_total{0};

// A GET of the blob from `offset` on, to byte `last` when set (Range when offset > 0 or
// `last` is set); null with `refusal` or `ec` set.
asio::awaitable<std::unique_ptr<http::response_stream>> open_response(
    const blob_request& request, std::uint64_t offset, std::optional<std::uint64_t> last,
    upstream_refusal& refusal, std::error_code& ec) {
  upstream_call call{bhttp::verb::get,
                     "/v2/" + request.repository + "/blobs/" + request.digest.str(),
                     request.authorization,
                     {},
                     {}};
  const bool ranged = offset > 0 || last;
  if (ranged)
    call.range = "bytes=" + std::to_string(offset) + "-" + (last ? std::to_string(*last) : "");
  auto response = co_await request.from->send(call, ec);
  if (!response) co_return nullptr;
  // A slice from byte 0 may come whole (200): the reader takes what it asked for.
  const unsigned status = response->status();
  if (status != (ranged ? 206u : 200u) && !(offset == 0 && status == 200)) {
    refusal = co_await read_refusal(*response);
    co_return nullptr;
  }
  co_return response;
}

// An upstream body that, when it breaks off (a stall past the idle timeout, a reset), is asked
// for again from where it stopped, a few times. The fetcher hashes every byte, so a registry
// that answers the Range with other bytes only fails the fetch.
class http_blob_reader final : public blob_reader {
 public:
  http_blob_reader(std::unique_ptr<http::response_stream> response, blob_request request,
                   std::uint64_t offset, std::optional<std::uint64_t> last, std::uint64_t* counter)
      : response_(std::move(response)),
        request_(std::move(request)),
        size_(response_->content_length()),
        position_(offset),
        last_(last),
        counter_(counter) {}
  std::optional<std::uint64_t> size() const override { return size_; }
  asio::awaitable<std::size_t> read_some(void* data, std::size_t size,
                                         std::error_code& ec) override {
    for (;;) {
      const std::size_t n = co_await response_->read_some(data, size, ec);
      position_ += n;
      if (counter_) *counter_ += n;
      if (!ec) co_return n;
      // The body broke off: ask for the rest, a few times (a busy link can also drop the
      // request itself).
      bool resumed = false;
      while (!resumed && resumes_ < max_resumes) resumed = co_await resume(ec, ++resumes_);
      if (!resumed || n > 0) co_return n;
    }
  }

 private:
  static constexpr int max_resumes = 5;

  asio::awaitable<bool> resume(std::error_code& ec, int resumes) {
    spdlog::warn("upstream body of {} broke off at byte {} ({}); asking for the rest",
                 request_.digest.str(), position_, ec.message());
    asio::steady_timer pause(co_await asio::this_coro::executor,
                             std::chrono::milliseconds(250 * resumes));
    co_await pause.async_wait(asio::use_awaitable);
    upstream_refusal refusal;
    std::error_code again;
    auto next = co_await open_response(request_, position_, last_, refusal, again);
    if (!next) {
      if (refusal.status != 0) resumes_ = max_resumes;  // an answer, not a busy link: final
      co_return false;                                  // the first error stands
    }
    response_ = std::move(next);
    ec.clear();
    ++resumes_total;
    co_return true;
  }

  std::unique_ptr<http::response_stream> response_;
  blob_request request_;
  std::optional<std::uint64_t> size_;
  std::uint64_t position_;
  std::optional<std::uint64_t> last_;
  std::uint64_t* counter_;
  int resumes_ = 0;
};

}  // namespace

std::uint64_t upstream_resumes() noexcept {
  return resumes_total.load();
}

asio::awaitable<std::unique_ptr<blob_reader>> upstream_blob_source::open(
    const blob_request& request, upstream_refusal& refusal, std::error_code& ec) {
  co_return co_await open_range(request, 0, std::nullopt, &bytes_, refusal, ec);
}

asio::awaitable<std::unique_ptr<blob_reader>> upstream_blob_source::open_range(
    const blob_request& request, std::uint64_t first, std::optional<std::uint64_t> last,
    std::uint64_t* counter, upstream_refusal& refusal, std::error_code& ec) {
  auto response = co_await open_response(request, first, last, refusal, ec);
  if (!response) co_return nullptr;
  co_return std::make_unique<http_blob_reader>(std::move(response), request, first, last, counter);
}

}  // namespace rookery::pull
