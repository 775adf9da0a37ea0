// Prometheus text exposition (version 0.0.4), the one writer both binaries' /metrics use, and the
// latency histogram they fill on the request path.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace rookery::http {

/// Durations counted into fixed buckets, with their sum and count: a Prometheus histogram.
/// observe() takes no lock (relaxed atomics) and is safe from any thread; readers may see an
/// observation's bucket before its sum. Neither copyable nor movable.
class latency_histogram {
 public:
  /// Upper bounds in seconds, ascending; the +Inf bucket is implied.
  explicit latency_histogram(std::vector<double> bounds_seconds = default_bounds());
  latency_histogram(const latency_histogram&) = delete;
  latency_histogram& operator=(const latency_histogram&) = delete;

  /// Counts one duration into the first bucket whose bound is at least `took`.
  void observe(std::chrono::nanoseconds took) noexcept;

  /// 1 ms to 2 minutes: a manifest answers in milliseconds, a cold layer may take minutes.
  static std::vector<double> default_bounds();
  const std::vector<double>& bounds() const noexcept { return bounds_; }
  /// Observations per bucket, not cumulative; the last one is +Inf.
  std::vector<std::uint64_t> bucket_counts() const;
  /// Sum of the observed durations, in seconds.
  double sum_seconds() const noexcept;

 private:
  std::vector<double> bounds_;
  std::vector<std::int64_t> bounds_ns_;
  std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;  ///< bounds_.size() + 1
  std::atomic<std::uint64_t> sum_ns_{0};
};

/// Observes the time from construction to destruction into a histogram (none when null). It
/// shares the histogram: a request's coroutine frame can be destroyed after the histogram's
/// owner (at shutdown the io_context destroys suspended frames last).
class latency_timer {
 public:
  explicit latency_timer(std::shared_ptr<latency_histogram> into) noexcept
      : into_(std::move(into)), start_(std::chrono::steady_clock::now()) {}
  latency_timer(const latency_timer&) = delete;
  latency_timer& operator=(const latency_timer&) = delete;
  ~latency_timer() {
    if (into_) into_->observe(std::chrono::steady_clock::now() - start_);
  }

 private:
  std::shared_ptr<latency_histogram> into_;
  std::chrono::steady_clock::time_point start_;
};

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

  /// One value of a labelled family, e.g. {"stall", 3} for reason="stall".
  struct labelled_value {
    std::string_view label_value;
    std::uint64_t value;
  };
  /// A counter family with one label: name{label="value"} per entry.
  prometheus_text& counters(std::string_view name, std::string_view help, std::string_view label,
                            std::initializer_list<labelled_value> values);

  /// One histogram of a labelled family.
  struct labelled_histogram {
    std::string_view label_value;
    const latency_histogram* histogram;
  };
  /// A histogram family with one label: _bucket (cumulative, le in seconds, +Inf last), _sum
  /// and _count per entry, under one HELP and TYPE.
  prometheus_text& histograms(std::string_view name, std::string_view help, std::string_view label,
                              std::initializer_list<labelled_histogram> series);

  /// The text so far.
  const std::string& str() const noexcept { return out_; }
  /// The media type to serve it as.
  static constexpr const char* content_type = "text/plain; version=0.0.4";

 private:
  prometheus_text& sample(std::string_view name, std::string_view type, std::string_view help,
                          std::uint64_t value);
  void header(const std::string& full, std::string_view type, std::string_view help);
  void histogram_series(const std::string& full, std::string_view label,
                        const labelled_histogram& series);
  std::string prefix_;
  std::string out_;
};

}  // namespace rookery::http
