// Prometheus text exposition (version 0.0.4), the one writer both binaries' /metrics use.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace rookery::http {

/// Appends samples, each with its HELP and TYPE lines, under one name prefix.
class prometheus_text {
 public:
  /// `prefix` goes before every name, e.g. "rookery_proxy_".
  explicit prometheus_text(std::string prefix) : prefix_(std::move(prefix)) {}

  prometheus_text& counter(std::string_view name, std::string_view help, std::uint64_t value) {
    return sample(name, "counter", help, value);
  }
  prometheus_text& gauge(std::string_view name, std::string_view help, std::uint64_t value) {
    return sample(name, "gauge", help, value);
  }
  /// The text so far.
  const std::string& str() const noexcept { return out_; }
  /// The media type to serve it as.
  static constexpr const char* content_type = "text/plain; version=0.0.4";

 private:
  prometheus_text& sample(std::string_view name, std::string_view type, std::string_view help,
                          std::uint64_t value);
  std::string prefix_;
  std::string out_;
};

}  // namespace rookery::http
