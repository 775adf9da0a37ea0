#include "app/startup.hpp"

#include <execinfo.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>

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

std::string auth_file_path(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* env = std::getenv("REGISTRY_AUTH_FILE");
  return env ? env : "";
}

void apply_auth_file(std::vector<pull::upstream_config>& configs, const pull::auth_file& file) {
  for (const auto& host : file.skipped())
    spdlog::warn("{}: no \"auth\" for {} (credential helpers and identity tokens are not used)",
                 file.source(), host);
  for (auto& c : configs) {
    if (!c.username.empty()) continue;  // a credentials flag wins
    auto login = file.find(c.base.authority());
    if (!login) login = file.find(c.base.host + ":" + c.base.port);
    if (!login) continue;
    c.username = std::move(login->username);
    c.password = std::move(login->password);
    spdlog::info("upstream {} logs in as {} (from {})", c.name.empty() ? "default" : c.name,
                 c.username, file.source());
  }
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

namespace {
// Async-signal-safe only: write(2), backtrace_symbols_fd(3) (backtrace() was called once before
// so its library is loaded), then the default action.
void on_fatal_signal(int sig) {
  char text[] = "rookery: fatal signal 00\n";
  text[sizeof text - 4] = static_cast<char>('0' + sig / 10 % 10);
  text[sizeof text - 3] = static_cast<char>('0' + sig % 10);
  (void)!write(STDERR_FILENO, text, sizeof text - 1);
  void* frames[64];
  backtrace_symbols_fd(frames, backtrace(frames, 64), STDERR_FILENO);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}
}  // namespace

void report_fatal_signals() {
  void* warm[1];
  backtrace(warm, 1);
  struct sigaction action {};
  action.sa_handler = on_fatal_signal;
  action.sa_flags = SA_RESETHAND;
  sigemptyset(&action.sa_mask);
  for (int sig : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(sig, &action, nullptr);
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
