// Command lines of the rookery binaries: CLI11 parsing into a config struct, the fleet flags
// both daemons share, and the common shape of main().
#pragma once

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <iostream>
#include <string>
#include <variant>
#include <vector>

#include "app/startup.hpp"
#include "p2p/session.hpp"

namespace rookery::app {

/// --fleet-ca, --fleet-cert, --fleet-key, --peer-allow, --bt-setting and --bt-disk-io: the swarm
/// flags both daemons share.
struct fleet_flags {
  std::string ca, cert, key;
  std::vector<std::string> peer_allow;
  std::vector<std::string> bt_settings;
  std::string disk_io = "pread";  ///< or "posix", "mmap" (p2p::disk_backend)
};
void add_fleet_flags(CLI::App& app, fleet_flags& flags);
/// Checks the fleet flags without reading a file: all three PEM files or none, every
/// --peer-allow network well-formed, every --bt-setting a libtorrent setting with a value of
/// its type. Throws bad_flag.
void check_fleet_flags(const fleet_flags& flags);
/// Checks the flags, then reads the fleet's PEM files into `session` (throws when they are
/// incomplete or unreadable).
void apply_fleet_flags(const fleet_flags& flags, p2p::session_options& session);

/// How a command line is parsed: in full, or (--check-flags) checked without reading a file.
enum class parse_mode { run, check_flags };

/// Adds --check-flags to `app`: parse and check every flag and value, read no file, start
/// nothing, exit 0. What deployments run to prove their command lines before they ship.
void add_check_flags(CLI::App& app, bool& check);

/// Parses `argv` with `app` (its flags bound to variables) and turns them into a config with
/// `make(parse_mode)`. Returns the config, or the exit status after printing help (0), after a
/// successful --check-flags (0), or what was wrong (2).
template <class Config, class Make>
std::variant<Config, int> parse_command_line(CLI::App& app, int argc, const char* const* argv,
                                             Make make) {
  bool check = false;
  add_check_flags(app, check);
  try {
    app.parse(argc, argv);
    if (!check) return make(parse_mode::run);
    make(parse_mode::check_flags);
    std::cout << app.get_name() << ": flags accepted\n";
    return 0;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  } catch (const std::exception& e) {  // bad values, unreadable secret or certificate files
    std::cerr << app.get_name() << ": " << e.what() << "\n";
    return 2;
  }
}

/// main() of a daemon: parse, set the log level (Config::log_level), serve until a signal.
template <class Config, class Parse, class Serve>
int daemon_main(int argc, char** argv, const char* program, Parse parse, Serve serve) {
  auto parsed = parse(argc, argv);
  if (const int* status = std::get_if<int>(&parsed)) return *status;
  auto& config = std::get<Config>(parsed);
  spdlog::set_level(spdlog::level::from_str(config.log_level));
  report_fatal_signals();
  return guarded(program, [&] { return serve(config); });
}

}  // namespace rookery::app
