#include "app/command_line.hpp"

#include <map>

namespace rookery::app {
namespace {

// --bt-disk-io's values.
const std::map<std::string, p2p::disk_backend> disk_backends{{"pread", p2p::disk_backend::pread},
                                                             {"posix", p2p::disk_backend::posix},
                                                             {"mmap", p2p::disk_backend::mmap}};

}  // namespace

void add_check_flags(CLI::App& app, bool& check) {
  app.add_flag("--check-flags", check,
               "parse and check every flag and value, then exit 0 without reading any file or "
               "starting anything");
}

void add_fleet_flags(CLI::App& app, fleet_flags& flags) {
  app.add_option("--fleet-ca", flags.ca,
                 "fleet CA certificate (PEM): BitTorrent over TLS with fleet members only");
  app.add_option("--fleet-cert", flags.cert, "this host's certificate, signed by the fleet CA");
  app.add_option("--fleet-key", flags.key, "this host's private key (PEM)");
  app.add_option("--peer-allow", flags.peer_allow,
                 "network (CIDR) whose peers may connect; repeat; default: any");
  app.add_option("--bt-setting", flags.bt_settings,
                 "NAME=VALUE: a libtorrent setting (settings_pack name) over rookery's own; "
                 "repeat; for tuning and measuring");
  app.add_option("--bt-disk-io", flags.disk_io,
                 "how libtorrent reads and writes blobs: pread (each file kept open), posix "
                 "(libtorrent's plain file calls, an open per block) or mmap (libtorrent's "
                 "default: memory-mapped files, disk threads)")
      ->check(CLI::IsMember(disk_backends))
      ->capture_default_str();
}

void check_fleet_flags(const fleet_flags& flags) {
  const int given = !flags.ca.empty() + !flags.cert.empty() + !flags.key.empty();
  if (given != 0 && given != 3)
    throw bad_flag("--fleet-ca", "a fleet member needs --fleet-ca, --fleet-cert and --fleet-key");
  for (const auto& network : flags.peer_allow) {
    libtorrent::address first, last;
    if (!p2p::parse_cidr(network, first, last))
      throw bad_flag("--peer-allow", "'" + network + "' is not ADDRESS/BITS");
  }
  libtorrent::settings_pack trial;
  for (const auto& setting : flags.bt_settings) {
    try {
      p2p::apply_override(trial, setting);
    } catch (const std::invalid_argument& e) {
      throw bad_flag("--bt-setting", e.what());
    }
  }
}

void apply_fleet_flags(const fleet_flags& flags, p2p::session_options& session) {
  check_fleet_flags(flags);
  session.peer_allow = flags.peer_allow;
  session.overrides = flags.bt_settings;
  session.disk = disk_backends.at(flags.disk_io);  // checked when the flags were parsed
  p2p::load_fleet(session, flags.ca, flags.cert, flags.key);
}

}  // namespace rookery::app
