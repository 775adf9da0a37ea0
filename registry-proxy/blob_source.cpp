#include "registry-proxy/blob_source.hpp"

#include "layers/error.hpp"

namespace rookery::proxy {
namespace {

class http_blob_reader final : public blob_reader {
 public:
  explicit http_blob_reader(std::unique_ptr<http::response_stream> response)
      : response_(std::move(response)) {}
  std::optional<std::uint64_t> size() const override { return response_->content_length(); }
  asio::awaitable<std::size_t> read_some(void* data, std::size_t size, std::error_code& ec) override {
    co_return co_await response_->read_some(data, size, ec);
  }

 private:
  std::unique_ptr<http::response_stream> response_;
};

}  // namespace

asio::awaitable<upstream_refusal> read_refusal(http::response_stream& source) {
  upstream_refusal out;
  out.status = source.status();
  out.content_type = source.header(bhttp::field::content_type);
  out.www_authenticate = source.header(bhttp::field::www_authenticate);
  out.retry_after = source.header(bhttp::field::retry_after);
  if (co_await source.read_body(out.body, 64 * 1024)) out.body.clear();
  co_return out;
}

asio::awaitable<std::unique_ptr<blob_reader>> upstream_blob_source::open(
    const blob_request& request, upstream_refusal& refusal, std::error_code& ec) {
  upstream_call call{bhttp::verb::get, "/v2/" + request.repository + "/blobs/" + request.digest.str(),
                     request.authorization, {}};
  auto response = co_await request.from->send(call, ec);
  if (!response) co_return nullptr;
  if (response->status() != 200) {
    refusal = co_await read_refusal(*response);
    co_return nullptr;
  }
  co_return std::make_unique<http_blob_reader>(std::move(response));
}

}  // namespace rookery::proxy
