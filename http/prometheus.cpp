#include "http/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace rookery::http {
namespace {

// The shortest text that reads back as `value` ("0.005", "1", "2.5").
std::string number(double value) {
  char buffer[32];
  const auto end = std::to_chars(buffer, buffer + sizeof buffer, value).ptr;
  return std::string(buffer, end);
}

}  // namespace

latency_histogram::latency_histogram(std::vector<double> bounds_seconds)
    : bounds_(std::move(bounds_seconds)),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
  bounds_ns_.reserve(bounds_.size());
  for (double b : bounds_) bounds_ns_.push_back(std::llround(b * 1e9));
}

std::vector<double> latency_histogram::default_bounds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
}

void latency_histogram::observe(std::chrono::nanoseconds took) noexcept {
  const std::int64_t ns = std::max<std::int64_t>(took.count(), 0);
  const auto bucket =
      std::lower_bound(bounds_ns_.begin(), bounds_ns_.end(), ns) - bounds_ns_.begin();
  counts_[static_cast<std::size_t>(bucket)].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(static_cast<std::uint64_t>(ns), std::memory_order_relaxed);
}

std::vector<std::uint64_t> latency_histogram::bucket_counts() const {
  std::vector<std::uint64_t> out(bounds_.size() + 1);
  for (std::size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

double latency_histogram::sum_seconds() const noexcept {
  return static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
}

void prometheus_text::header(const std::string& full, std::string_view type,
                             std::string_view help) {
  out_ += "# HELP " + full + " " + std::string(help) + "\n";
  out_ += "# TYPE " + full + " " + std::string(type) + "\n";
}

prometheus_text& prometheus_text::sample(std::string_view name, std::string_view type,
                                         std::string_view help, std::uint64_t value) {
  const std::string full = prefix_ + std::string(name);
  header(full, type, help);
  out_ += full + " " + std::to_string(value) + "\n";
  return *this;
}

prometheus_text& prometheus_text::counters(std::string_view name, std::string_view help,
                                           std::string_view label,
                                           std::initializer_list<labelled_value> values) {
  const std::string full = prefix_ + std::string(name);
  header(full, "counter", help);
  for (const auto& v : values) {
    out_ += full + "{" + std::string(label) + "=\"" + std::string(v.label_value) + "\"} " +
            std::to_string(v.value) + "\n";
  }
  return *this;
}

prometheus_text& prometheus_text::histograms(std::string_view name, std::string_view help,
                                             std::string_view label,
                                             std::initializer_list<labelled_histogram> series) {
  const std::string full = prefix_ + std::string(name);
  header(full, "histogram", help);
  for (const auto& s : series) histogram_series(full, label, s);
  return *this;
}

void prometheus_text::histogram_series(const std::string& full, std::string_view label,
                                       const labelled_histogram& series) {
  const std::string labels = std::string(label) + "=\"" + std::string(series.label_value) + "\"";
  const auto counts = series.histogram->bucket_counts();
  const auto& bounds = series.histogram->bounds();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < counts.size(); ++i) {
    cumulative += counts[i];
    const std::string le = i < bounds.size() ? number(bounds[i]) : "+Inf";
    out_ += full + "_bucket{" + labels + ",le=\"" + le + "\"} " + std::to_string(cumulative) + "\n";
  }
  out_ += full + "_sum{" + labels + "} " + number(series.histogram->sum_seconds()) + "\n";
  // The count is the +Inf bucket, read once, so the two always agree.
  out_ += full + "_count{" + labels + "} " + std::to_string(cumulative) + "\n";
}

}  // namespace rookery::http
