#include "seeder/hashing_source.hpp"

namespace rookery::seeder {
namespace asio = boost::asio;
namespace {

class hashing_reader final : public pull::blob_reader {
 public:
  hashing_reader(std::unique_ptr<pull::blob_reader> inner,
                 std::shared_ptr<layers::piece_hasher> pieces)
      : inner_(std::move(inner)), pieces_(std::move(pieces)) {}
  std::optional<std::uint64_t> size() const override { return inner_->size(); }
  asio::awaitable<std::size_t> read_some(void* data, std::size_t size,
                                         std::error_code& ec) override {
    const std::size_t n = co_await inner_->read_some(data, size, ec);
    if (n > 0) pieces_->update(data, n);
    co_return n;
  }

 private:
  std::unique_ptr<pull::blob_reader> inner_;
  std::shared_ptr<layers::piece_hasher> pieces_;
};

}  // namespace

asio::awaitable<std::unique_ptr<pull::blob_reader>> hashing_source::open(
    const pull::blob_request& request, pull::upstream_refusal& refusal, std::error_code& ec) {
  auto reader = co_await inner_.open(request, refusal, ec);
  if (!reader || !reader->size() || *reader->size() == 0) co_return reader;
  auto pieces = std::make_shared<layers::piece_hasher>(*reader->size());
  hashers_[request.digest] = pieces;
  co_return std::make_unique<hashing_reader>(std::move(reader), std::move(pieces));
}

std::unique_ptr<layers::piece_hasher> hashing_source::take(const layers::digest& d) {
  auto it = hashers_.find(d);
  if (it == hashers_.end()) return nullptr;
  auto pieces = std::move(it->second);
  hashers_.erase(it);
  if (!pieces->complete()) return nullptr;
  return std::make_unique<layers::piece_hasher>(std::move(*pieces));
}

}  // namespace rookery::seeder
