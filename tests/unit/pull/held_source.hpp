// A blob_source for tests of what waits on whom: it serves blobs from memory, but every reader
// blocks before its first byte until release() (a gate), and it counts the readers open at once.
// Meanwhile its readers can claim to hold bytes ahead (hold()), as a swarm holds pieces.
#pragma once

#include <algorithm>
#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <filesystem>
#include <map>

#include "pull/blob_source.hpp"
#include "tests/unit/temp_dir.hpp"

namespace rookery::test {

class held_source final : public pull::blob_source {
 public:
  explicit held_source(boost::asio::io_context& io) : gate_(io) {
    gate_.expires_at(boost::asio::steady_timer::time_point::max());
  }

  /// Makes `content` available as its digest.
  layers::digest add(const std::string& content) {
    auto d = layers::digest_of(content);
    blobs_.emplace(d.str(), content);
    return d;
  }
  /// Lets every reader, now and later, deliver its bytes.
  void release() {
    open_gate_ = true;
    gate_.cancel();
  }

  /// Every reader, now and later, holds this many bytes of its blob (at most all of them).
  void hold(std::uint64_t bytes) { held_ = bytes; }

  std::size_t open_now() const { return open_now_; }
  std::size_t max_open() const { return max_open_; }
  std::size_t opened() const { return opened_; }

  boost::asio::awaitable<std::unique_ptr<pull::blob_reader>> open(const pull::blob_request& r,
                                                                  pull::upstream_refusal&,
                                                                  std::error_code& ec) override {
    auto it = blobs_.find(r.digest.str());
    if (it == blobs_.end()) {
      ec = std::make_error_code(std::errc::no_such_file_or_directory);
      co_return nullptr;
    }
    ++opened_;
    max_open_ = std::max(max_open_, ++open_now_);
    co_return std::make_unique<reader>(*this, it->second);
  }
  pull::source_bytes bytes() const override { return {}; }

 private:
  class reader final : public pull::blob_reader {
   public:
    reader(held_source& source, const std::string& content) : source_(source), content_(content) {}
    ~reader() override { --source_.open_now_; }
    std::optional<std::uint64_t> size() const override { return content_.size(); }
    std::uint64_t held() const override {
      return std::min<std::uint64_t>(source_.held_, content_.size());
    }
    boost::asio::awaitable<std::size_t> read_some(void* data, std::size_t size,
                                                  std::error_code&) override {
      while (!source_.open_gate_) {
        boost::system::error_code ignored;
        co_await source_.gate_.async_wait(
            boost::asio::redirect_error(boost::asio::use_awaitable, ignored));
      }
      const std::size_t n = std::min(size, content_.size() - at_);
      std::memcpy(data, content_.data() + at_, n);
      at_ += n;
      co_return n;
    }

   private:
    held_source& source_;
    const std::string& content_;
    std::size_t at_ = 0;
  };

  boost::asio::steady_timer gate_;
  bool open_gate_ = false;
  std::uint64_t held_ = 0;
  std::map<std::string, std::string> blobs_;
  std::size_t open_now_ = 0, max_open_ = 0, opened_ = 0;
};

}  // namespace rookery::test
