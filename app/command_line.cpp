#include "app/command_line.hpp"

namespace rookery::app {

void add_fleet_flags(CLI::App& app, fleet_flags& flags) {
  app.add_option("--fleet-ca", flags.ca,
                 "fleet CA certificate (PEM): BitTorrent over TLS with fleet members only");
  app.add_option("--fleet-cert", flags.cert, "this host's certificate, signed by the fleet CA");
  app.add_option("--fleet-key", flags.key, "this host's private key (PEM)");
  app.add_option("--peer-allow", flags.peer_allow,
                 "network (CIDR) whose peers may connect; repeat; default: any");
}

void apply_fleet_flags(const fleet_flags& flags, p2p::session_options& session) {
  session.peer_allow = flags.peer_allow;
  p2p::load_fleet(session, flags.ca, flags.cert, flags.key);
}

}  // namespace rookery::app
