// `rookery setup containerd|docker|podman`: writes the runtime's mirror configuration so that it
// pulls through this host's rookery-proxy. Existing files are backed up before they change.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cli/hosts.hpp"

namespace rookery::cli {

/// A registry to mirror: its name as image references spell it, and its URL.
struct mirrored_registry {
  std::string name;  ///< e.g. "docker.io", "registry.example:5000"
  std::string url;   ///< e.g. "https://registry-1.docker.io"
};

/// "NAME" (https://NAME; docker.io → https://registry-1.docker.io) or "NAME=URL"; throws
/// std::invalid_argument for a malformed name or URL.
mirrored_registry parse_mirrored_registry(std::string_view text);

struct setup_options {
  std::string runtime;  ///< containerd, docker or podman
  host proxy;           ///< this host's rookery-proxy
  std::vector<mirrored_registry> registries;
  std::filesystem::path path;  ///< the directory or file to write; empty: the runtime's default
  bool dry_run = false;        ///< print the files instead of writing them
};

/// A file to write.
struct config_file {
  std::filesystem::path path;
  std::string text;
};

/// containerd's hosts.toml for `registry` (no `server` line for the `_default` catch-all).
std::string containerd_hosts_toml(const host& proxy, const mirrored_registry* registry);
/// Docker's daemon.json: `existing` (may be empty) with the proxy first in registry-mirrors and,
/// for an http proxy, in insecure-registries; every other key kept. Throws std::invalid_argument
/// when `existing` is not a JSON object.
std::string docker_daemon_json(std::string_view existing, const host& proxy);
/// A registries.conf drop-in: each registry with the proxy as its mirror.
std::string podman_registries_conf(const host& proxy,
                                   const std::vector<mirrored_registry>& registries);

/// The files `opts` asks for (reading an existing daemon.json to merge into it).
std::vector<config_file> setup_files(const setup_options& opts);

/// Writes the files atomically. An existing file with other content is first copied to
/// PATH.rookery-backup (PATH.rookery-backup.N when that exists); an identical one is left alone.
/// Returns one line per file saying what happened; throws std::runtime_error on a failed write.
std::vector<std::string> write_config_files(const std::vector<config_file>& files);

/// Runs the command; the exit status.
int run_setup(const setup_options& opts);

}  // namespace rookery::cli
