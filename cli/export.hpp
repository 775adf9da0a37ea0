// `rookery export IMAGE FILE.tar --registry URL|--proxy URL [--format docker|oci]`: writes one
// image (an index resolved to one platform) as a docker-archive or an OCI image-layout tarball,
// gzip-compressed when FILE ends in .gz or .tgz. Blobs are streamed into the tarball and checked
// against their digests on the way; the tarball appears under FILE only once it is complete.
#pragma once

#include <optional>
#include <string>

#include "cli/hosts.hpp"
#include "layers/manifest.hpp"

namespace rookery::cli {

enum class archive_format { docker, oci };

struct export_options {
  std::string image;  ///< repository[:tag] or repository@digest
  std::string file;
  host source;  ///< a registry or a rookery proxy
  std::string username, password;
  archive_format format = archive_format::docker;
  std::optional<layers::platform> platform;  ///< for an index; default: this host's
};

/// Runs the command; the exit status (0 written, 1 failed, nothing left under FILE).
int run_export(const export_options& opts);

/// What an exported docker-archive calls the image: "repository:tag", empty for a digest.
std::string docker_repo_tag(const std::string& repository, const std::string& reference);

}  // namespace rookery::cli
