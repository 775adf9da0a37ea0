#include "app/startup.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/signal_set.hpp>

#include "http/server.hpp"

namespace rookery::app {

boost::asio::ip::tcp::endpoint listen_endpoint(const std::string& text, const std::string& flag) {
  auto endpoint = http::parse_endpoint(text);
  if (!endpoint) throw bad_flag(flag, "expected ADDRESS:PORT, got '" + text + "'");
  return *endpoint;
}

pull::upstream_config upstream_spec(const std::string& spec, const std::string& flag) {
  pull::upstream_config config;
  std::string url_text = spec;
  if (auto eq = spec.find('='); eq != std::string::npos && spec.find("://") > eq) {
    config.name = spec.substr(0, eq);
    url_text = spec.substr(eq + 1);
  }
  if (config.name == "default") config.name.clear();
  auto parsed = http::url::parse(url_text);
  if (!parsed || parsed->target != "/")
    throw bad_flag(flag, "'" + spec + "' is not [NAME=]http(s)://host[:port]");
  config.base = *parsed;
  return config;
}

void set_credentials(pull::upstream_config& config, const std::string& text,
                     const std::string& flag) {
  const auto colon = text.find(':');
  if (colon == std::string::npos || colon == 0) throw bad_flag(flag, "expected USER:PASSWORD");
  config.username = text.substr(0, colon);
  config.password = text.substr(colon + 1);
}

std::vector<std::string> split_names(const std::string& text) {
  std::vector<std::string> names;
  for (std::size_t start = 0; start != std::string::npos;) {
    const auto comma = text.find(',', start);
    names.push_back(text.substr(start, comma - start));
    start = comma == std::string::npos ? comma : comma + 1;
  }
  return names;
}

void run_until_signal(boost::asio::io_context& io) {
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { io.stop(); });
  io.run();
}

int guarded(const char* program, const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    spdlog::critical("{}: {}", program, e.what());
    return 2;
  }
}

}  // namespace rookery::app
