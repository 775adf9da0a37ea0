// `rookery import FILE.tar... --registry URL [--seeder URL]`: pushes the images of docker-archive
// or OCI-layout tarballs into the central registry with the OCI push API, then has the seeder
// seed them, so an air-gapped site fills its swarm from a tarball. Every tarball is read once
// to hash and check every blob before anything is pushed, and once more to upload.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "cli/hosts.hpp"
#include "cli/image_archive.hpp"

namespace rookery::cli {

struct import_options {
  std::vector<std::string> files;
  host registry;
  std::string username, password;      ///< --creds; both empty when none
  std::optional<image_name> name;      ///< --image: the repository (and tag) to push as
  std::optional<host> seeder;          ///< --seeder: seed each image once pushed
  std::string seeder_authorization;    ///< "Bearer <operator token>"
  std::chrono::seconds timeout{1800};  ///< for the seeding
};

/// Runs the command; the exit status (0 pushed and seeded, 1 refused or failed).
int run_import(const import_options& opts);

/// How a pushed image is named for the seeder: "repository:tag", or "repository@digest" when
/// it has no tag.
std::string pushed_reference(const image_plan& plan);

}  // namespace rookery::cli
