// What every rookery binary does at start-up: read flag values that name endpoints, upstreams
// and credentials, then run the io_context until SIGINT/SIGTERM. Shared by rookery-proxy and
// rookery-seeder (and the coming rookery CLI). Errors here are exceptions: a bad flag value
// stops the program before it serves anything (exit 2).
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "pull/auth_file.hpp"
#include "pull/upstream.hpp"

namespace rookery::app {

/// A flag whose value does not parse; what() names the flag and the value.
class bad_flag : public std::invalid_argument {
 public:
  bad_flag(const std::string& flag, const std::string& why)
      : std::invalid_argument(flag + ": " + why), flag_(flag) {}
  const std::string& flag() const noexcept { return flag_; }

 private:
  std::string flag_;
};

/// "ADDRESS:PORT" or "[V6]:PORT".
boost::asio::ip::tcp::endpoint listen_endpoint(const std::string& text, const std::string& flag);

/// "[NAME=]http(s)://host[:port]": an upstream registry; NAME empty (or "default") for the
/// default upstream.
pull::upstream_config upstream_spec(const std::string& spec, const std::string& flag);

/// "USER:PASSWORD" into `config`'s credentials.
void set_credentials(pull::upstream_config& config, const std::string& text,
                     const std::string& flag);

/// The auth file to read: `flag` when given, else $REGISTRY_AUTH_FILE, else empty (none).
std::string auth_file_path(const std::string& flag);

/// Gives each upstream in `configs` that has no credentials yet the login `file` holds for its
/// host ("host:port" as in its URL). Logs, without secrets, which upstreams got one and which
/// hosts the file names without a usable "auth".
void apply_auth_file(std::vector<pull::upstream_config>& configs, const pull::auth_file& file);

/// Comma-separated names ("a,b"; empty text is one empty name).
std::vector<std::string> split_names(const std::string& text);

/// Runs `io` on this thread until SIGINT or SIGTERM.
void run_until_signal(boost::asio::io_context& io);

/// On SIGSEGV, SIGBUS, SIGFPE, SIGILL or SIGABRT: writes the signal and a backtrace to stderr
/// (frames as binary(+offset): `addr2line -e BINARY OFFSET` names them), then dies of the
/// signal as it would have (a core where enabled).
void report_fatal_signals();

/// Calls `body`; an exception is logged as critical for `program` and becomes exit status 2.
int guarded(const char* program, const std::function<int()>& body);

}  // namespace rookery::app
