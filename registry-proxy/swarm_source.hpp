// The proxy's swarm path: a missing blob's metainfo comes from the seeder (which checks the
// client's access with the registry), its pieces from the swarm of hosts, streamed in order
// as they verify. When the seeder refuses or is unreachable, or the swarm makes no progress
// for a while, the remaining bytes come from the upstream registry: a pull never fails
// because P2P did.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "http/prometheus.hpp"
#include "layers/blob_store.hpp"
#include "p2p/metainfo_store.hpp"
#include "p2p/session.hpp"
#include "pull/blob_source.hpp"

namespace rookery::proxy {

struct swarm_options {
  http::url seeder;  ///< rookery-seeder's base URL
  /// The upstreams whose registry the seeder seeds, by name (empty: the default one); often one
  /// registry under two names (the default for Docker/podman, its host for containerd's ns).
  std::vector<std::string> fronts;
  std::filesystem::path work_dir;                     ///< downloads in progress, saved metainfo
  std::chrono::milliseconds metainfo_timeout{20000};  ///< the seeder may fetch a cold blob first
  std::chrono::milliseconds stall{15000};             ///< no payload for this long: fall back
  /// How long the seeder's answer to a prepare (its access check) stands in for one it does not
  /// give at open() (the proxy's --access-seconds).
  std::chrono::seconds access_fresh{60};
};

class swarm_source final : public pull::blob_source {
 public:
  swarm_source(boost::asio::ssl::context& tls, p2p::session& swarm, layers::blob_store& store,
               swarm_options opts);

  boost::asio::awaitable<std::unique_ptr<pull::blob_reader>> open(const pull::blob_request& request,
                                                                  pull::upstream_refusal& refusal,
                                                                  std::error_code& ec) override;
  /// Joins the blob's swarm held (p2p::torrent::hold): metainfo, tracker and peers now, no
  /// download until open().
  boost::asio::awaitable<void> prepare(const pull::blob_request& request) override;
  void committed(const layers::digest& d) override;
  void failed(const layers::digest& d) override;
  pull::source_bytes bytes() const override {
    return {bytes_.peers, bytes_.upstream + direct_.bytes().upstream};
  }

  /// The store is about to evict `d`: stop seeding it and forget its metainfo. Thread-safe
  /// (the store's eviction hook).
  void evicted(const layers::digest& d);
  /// Seeds again every cached blob whose metainfo was kept. Returns how many.
  std::size_t restore();
  /// Fetches of fronted blobs that went to upstream, by why.
  struct fallback_counts {
    std::uint64_t no_torrent = 0;  ///< the seeder refused or did not answer, or no torrent
    std::uint64_t filled = 0;      ///< the swarm stalled: the missing pieces came from upstream
    std::uint64_t stalled = 0;     ///< the swarm stalled or failed mid-blob: upstream sent the rest
  };
  fallback_counts fallbacks() const noexcept { return fallbacks_; }
  /// The seeder this source asks.
  const http::url& seeder() const noexcept { return opts_.seeder; }
  /// How long metainfo requests to the seeder took (all tries of one fetch together).
  const http::latency_histogram& metainfo_latency() const noexcept { return *metainfo_latency_; }

 private:
  friend class swarm_reader;
  boost::asio::awaitable<std::string> fetch_metainfo(const pull::blob_request& request,
                                                     pull::upstream_refusal& refusal,
                                                     int& seeder_port);

  /// Whether the seeder seeds the request's registry.
  bool fronted(const pull::blob_request& request) const;
  /// Adds the blob's torrent (held or not) and meets the seeder.
  std::shared_ptr<p2p::torrent> join(const pull::blob_request& request, std::string metainfo,
                                     int seeder_port, bool held, std::error_code& ec);
  /// Connects the torrent to the seeder at once instead of waiting for the tracker round trip.
  void meet_seeder(p2p::torrent& t, int seeder_port) const;
  /// Whether a prepare for this same request had the seeder's answer recently enough to stand
  /// in for the one open() did not get.
  bool prepared_for(const pull::blob_request& request) const;

  boost::asio::ssl::context& tls_;
  p2p::session& swarm_;
  layers::blob_store& store_;
  swarm_options opts_;
  p2p::metainfo_store saved_;          ///< of committed blobs, for restarts
  pull::upstream_blob_source direct_;  ///< upstreams the seeder does not front
  pull::source_bytes bytes_;
  fallback_counts fallbacks_;
  std::shared_ptr<http::latency_histogram> metainfo_latency_ =
      std::make_shared<http::latency_histogram>();
  std::unordered_map<layers::digest, std::string> metainfo_;  ///< of downloads in progress
  /// Swarms joined held (prepare), with the request whose access the seeder checked.
  struct prepared {
    std::string repository, authorization;
    std::chrono::steady_clock::time_point checked;  ///< when the seeder answered
  };
  std::unordered_map<layers::digest, prepared> prepared_;
  std::unordered_set<layers::digest> preparing_;  ///< metainfo requests of prepare() under way
};

}  // namespace rookery::proxy
