// The OCI distribution API of one registry (or a rookery proxy, for pulls) as import and
// export use it: blob uploads in bounded chunks, cross-repository mounts, manifests, and
// streamed blob downloads. Logs in when the registry asks: Basic with the operator's
// credentials, or a Bearer token from the registry's realm (with them, or anonymously).
#pragma once

#include <utility>  // before Asio: Boost 1.74 needs std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "cli/hosts.hpp"
#include "cli/image_archive.hpp"
#include "http/client.hpp"
#include "layers/digest.hpp"

namespace rookery::cli {

/// Uploads go in PATCH requests of at most this many bytes (the only blob bytes held in memory).
inline constexpr std::size_t upload_chunk_bytes = 8 * 1024 * 1024;

/// Gives up to `size` more bytes of a blob into `data`; 0 at its end.
using byte_source = std::function<std::size_t(char* data, std::size_t size)>;

/// Requests to one registry. Lives on one io_context; not thread-safe. Every operation returns
/// the failure for a human ("" on success) or reports it in `why`.
class registry_client {
 public:
  /// `username` empty: no credentials (anonymous tokens are still fetched when asked for).
  registry_client(boost::asio::io_context& io, host registry, std::string username,
                  std::string password);

  const host& registry() const noexcept { return registry_; }

  /// Whether `repository` holds the blob (HEAD). False with `why` set when asking failed.
  boost::asio::awaitable<bool> has_blob(const std::string& repository, const layers::digest& d,
                                        std::string& why);
  /// Uploads `size` bytes from `source`, hashing them on the way; the upload is committed
  /// under `d` only when the bytes match it, and cancelled otherwise.
  boost::asio::awaitable<std::string> upload_blob(const std::string& repository,
                                                  const layers::digest& d, std::uint64_t size,
                                                  const byte_source& source);
  /// Mounts a blob that `from` holds into `repository`.
  boost::asio::awaitable<std::string> mount_blob(const std::string& repository,
                                                 const layers::digest& d, const std::string& from);
  /// PUTs a manifest under `reference` (a tag or its digest).
  boost::asio::awaitable<std::string> put_manifest(const std::string& repository,
                                                   const std::string& reference,
                                                   const manifest_document& manifest);
  /// GETs a manifest by tag or digest and checks its bytes against the digest asked for or
  /// the registry's Docker-Content-Digest.
  boost::asio::awaitable<std::string> get_manifest(const std::string& repository,
                                                   const std::string& reference,
                                                   std::optional<manifest_document>& out);
  /// GETs a blob: the response with its header read (status 200), or null with `why`.
  boost::asio::awaitable<std::unique_ptr<http::response_stream>> get_blob(
      const std::string& repository, const layers::digest& d, std::string& why);

 private:
  boost::asio::awaitable<std::unique_ptr<http::response_stream>> send(
      boost::beast::http::verb method, const http::url& where, boost::beast::http::fields headers,
      const std::string& body, std::string& why);
  boost::asio::awaitable<bool> log_in(const std::string& challenge, std::string& why);
  boost::asio::awaitable<std::string> fetch_token(const std::string& challenge, std::string& why);
  boost::asio::awaitable<std::string> start_upload(const std::string& repository,
                                                   std::string& location);
  boost::asio::awaitable<std::string> send_chunks(const layers::digest& d, std::uint64_t size,
                                                  const byte_source& source, std::string& location);
  http::url at(std::string target) const;

  boost::asio::io_context& io_;
  boost::asio::ssl::context tls_;
  http::client_options opts_;
  host registry_;
  std::string username_, password_;
  std::string authorization_;  ///< the header that worked last
};

/// "HTTP 404 BLOB_UNKNOWN: ..." for a failed answer, its body read (bounded).
boost::asio::awaitable<std::string> describe_answer(http::response_stream& res);

}  // namespace rookery::cli
