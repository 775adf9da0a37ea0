#include "http/prometheus.hpp"

namespace rookery::http {

prometheus_text& prometheus_text::sample(std::string_view name, std::string_view type,
                                         std::string_view help, std::uint64_t value) {
  const std::string full = prefix_ + std::string(name);
  out_ += "# HELP " + full + " " + std::string(help) + "\n";
  out_ += "# TYPE " + full + " " + std::string(type) + "\n";
  out_ += full + " " + std::to_string(value) + "\n";
  return *this;
}

}  // namespace rookery::http
