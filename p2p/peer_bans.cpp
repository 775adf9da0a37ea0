#include "p2p/peer_bans.hpp"

#include <libtorrent/bdecode.hpp>
#include <libtorrent/error_code.hpp>
#include <libtorrent/peer_connection_handle.hpp>
#include <utility>

namespace rookery::p2p {

void ban_list::add(const lt::tcp::endpoint& host) {
  const std::lock_guard lock(mutex_);
  banned_.insert(host);
}

bool ban_list::contains(const lt::tcp::endpoint& host) const {
  const std::lock_guard lock(mutex_);
  return banned_.contains(host);
}

namespace {

class ban_check final : public lt::peer_plugin {
 public:
  ban_check(lt::peer_connection_handle peer, std::shared_ptr<const ban_list> bans)
      : peer_(std::move(peer)), bans_(std::move(bans)) {}

  // The extension handshake (BEP 10) names the host's listen port ("p"). libtorrent stops
  // handling the handshake once the connection is closing, so the banned entry stays.
  bool on_extension_handshake(const lt::bdecode_node& handshake) override {
    const std::int64_t port = handshake.dict_find_int_value("p", 0);
    if (port > 0 && port < 65536 &&
        bans_->contains({peer_.remote().address(), static_cast<std::uint16_t>(port)}))
      peer_.disconnect(lt::errors::banned_by_ip_filter, lt::operation_t::bittorrent);
    return false;  // nothing more to check on this connection
  }

 private:
  lt::peer_connection_handle peer_;
  std::shared_ptr<const ban_list> bans_;
};

struct torrent_bans final : lt::torrent_plugin {
  explicit torrent_bans(std::shared_ptr<const ban_list> b) : bans(std::move(b)) {}
  std::shared_ptr<lt::peer_plugin> new_connection(const lt::peer_connection_handle& peer) override {
    return std::make_shared<ban_check>(peer, bans);
  }
  std::shared_ptr<const ban_list> bans;
};

struct session_bans final : lt::plugin {
  explicit session_bans(std::shared_ptr<const ban_list> b) : bans(std::move(b)) {}
  std::shared_ptr<lt::torrent_plugin> new_torrent(const lt::torrent_handle&,
                                                  lt::client_data_t) override {
    return std::make_shared<torrent_bans>(bans);
  }
  std::shared_ptr<const ban_list> bans;
};

}  // namespace

std::shared_ptr<lt::plugin> keep_bans(std::shared_ptr<const ban_list> bans) {
  return std::make_shared<session_bans>(std::move(bans));
}

}  // namespace rookery::p2p
