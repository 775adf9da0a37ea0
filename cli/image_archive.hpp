// Image tarballs in the two formats runtimes exchange: `docker save`'s docker-archive
// (manifest.json, a config, uncompressed layer tars) and the OCI image layout (oci-layout,
// index.json, blobs/sha256/...). Import reads a tarball twice: scan_tarball() hashes every
// file, plan_import() checks every blob against its digest and says what to push; export
// builds the few small documents each format needs around the blobs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "layers/digest.hpp"
#include "layers/manifest.hpp"

namespace rookery::cli {

/// A tarball that cannot be imported: what() says which file or blob and why.
class import_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What the first pass over a tarball learned. Paths are the tarball's, without "./".
struct tarball_scan {
  struct file {
    layers::digest digest;  ///< sha256 of the file's bytes
    std::uint64_t size = 0;
  };
  std::string source;                            ///< the tarball's file name, for messages
  std::map<std::string, file> files;             ///< every regular file
  std::map<std::string, std::string> links;      ///< link → the tarball path it points to
  std::map<std::string, std::string> documents;  ///< small JSON files, whole
};

/// JSON files up to this size are kept whole by the scan (manifests, configs, index.json)...
inline constexpr std::size_t max_document_bytes = layers::max_manifest_bytes;
/// ...and up to this much in all; a tarball with more is refused.
inline constexpr std::size_t max_documents_bytes = 64 * 1024 * 1024;

/// The first pass: reads the tarball once, streaming, and hashes every file. Throws
/// tarball_error when it cannot be read, import_error when it holds too many documents.
tarball_scan scan_tarball(const std::string& path);

/// A path as the tarball means it: "./a//b/../c" → "a/c"; empty when it leaves the root.
std::string normalise_tar_path(std::string_view path);

/// "REPOSITORY[:TAG]" the operator named an image with; `tag` empty when none was given.
struct image_name {
  std::string repository;
  std::string tag;
};

/// Parses a name as it appears in a tarball or on the command line. A leading registry host
/// ("docker.io/", "127.0.0.1:5000/", "localhost/") is dropped; nullopt when the rest breaks the
/// OCI grammar or names a digest.
std::optional<image_name> parse_image_name(std::string_view text);

/// A blob to push and where the tarball holds it.
struct blob_in_tarball {
  layers::digest digest;
  std::uint64_t size = 0;
  std::string path;
};

/// A manifest to push, byte for byte.
struct manifest_document {
  layers::digest digest;
  std::string media_type;
  std::string bytes;
};

/// One image of a tarball, checked and ready to push.
struct image_plan {
  std::string repository;
  std::vector<std::string> tags;             ///< empty: pushed by digest only
  std::vector<blob_in_tarball> blobs;        ///< each once
  std::vector<manifest_document> manifests;  ///< children first; the last is the image itself
  const manifest_document& top() const { return manifests.back(); }
};

/// The second step: the images of a scanned tarball, after every blob was checked against
/// its digest (OCI blobs by their names, docker-archive layers by the config's diff_ids).
/// `name`, when given, names every image (its tag, when given, replaces theirs). Throws
/// import_error naming the blob or document at fault; nothing is pushed before this returns.
std::vector<image_plan> plan_import(const tarball_scan& scan,
                                    const std::optional<image_name>& name);

/// The OCI manifest import pushes for a docker-archive image: the config and the uncompressed
/// layers (application/vnd.oci.image.layer.v1.tar) by the digests computed from the tarball.
std::string oci_manifest_for(const blob_in_tarball& config,
                             const std::vector<blob_in_tarball>& layers);

/// A config's rootfs.diff_ids; throws import_error when the config has none or bad ones.
std::vector<layers::digest> config_diff_ids(std::string_view config, const std::string& what);

/// Export's documents: the oci-layout file, ...
std::string oci_layout_document();
/// ... index.json naming one manifest (ref.name = `ref_name`, when not empty), ...
std::string oci_index_document(const manifest_document& manifest, const std::string& ref_name);
/// ... and docker-archive's manifest.json for one image.
std::string docker_manifest_document(const std::string& config_path,
                                     const std::vector<std::string>& layer_paths,
                                     const std::string& repo_tag);

/// Where an OCI layout keeps a blob: "blobs/sha256/<hex>".
std::string oci_blob_path(const layers::digest& d);

}  // namespace rookery::cli
