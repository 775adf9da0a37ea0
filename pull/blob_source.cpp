#include "pull/blob_source.hpp"

#include "layers/error.hpp"

namespace rookery::pull {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace {

class http_blob_reader final : public blob_reader {
 public:
  http_blob_reader(std::unique_ptr<http::response_stream> response, std::uint64_t* counter)
      : response_(std::move(response)), counter_(counter) {}
  std::optional<std::uint64_t> size() const override { return response_->content_length(); }
  asio::awaitable<std::size_t> read_some(void* data, std::size_t size,
                                         std::error_code& ec) override {
    const std::size_t n = co_await response_->read_some(data, size, ec);
    if (counter_) *counter_ += n;
    co_return n;
  }

 private:
  std::unique_ptr<http::response_stream> response_;
  std::uint64_t* counter_;
};

}  // namespace

asio::awaitable<std::unique_ptr<blob_reader>> upstream_blob_source::open(
    const blob_request& request, upstream_refusal& refusal, std::error_code& ec) {
  co_return co_await open_range(request, 0, &bytes_, refusal, ec);
}

asio::awaitable<std::unique_ptr<blob_reader>> upstream_blob_source::open_range(
    const blob_request& request, std::uint64_t offset, std::uint64_t* counter,
    upstream_refusal& refusal, std::error_code& ec) {
  upstream_call call{bhttp::verb::get,
                     "/v2/" + request.repository + "/blobs/" + request.digest.str(),
                     request.authorization,
                     {},
                     {}};
  if (offset > 0) call.range = "bytes=" + std::to_string(offset) + "-";
  auto response = co_await request.from->send(call, ec);
  if (!response) co_return nullptr;
  const unsigned expected = offset > 0 ? 206 : 200;
  if (response->status() != expected) {
    refusal = co_await read_refusal(*response);
    co_return nullptr;
  }
  co_return std::make_unique<http_blob_reader>(std::move(response), counter);
}

}  // namespace rookery::pull
