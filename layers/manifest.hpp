// OCI image manifests and indexes, and their Docker v2 schema2 twins: parsing, the blobs an
// image needs, and platform selection from an index.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "layers/digest.hpp"

namespace rookery::layers {

namespace media_type {
inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
/// The four manifest types a pull asks for, as one `Accept` header value.
inline constexpr std::string_view accept_all =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
}  // namespace media_type

/// Manifests larger than this are refused unread (the spec suggests registries cap at 4 MiB).
inline constexpr std::size_t max_manifest_bytes = 4 * 1024 * 1024;

struct platform {
  std::string os;
  std::string architecture;
  std::string variant;  ///< empty when not given
};

struct descriptor {
  std::string media_type;
  layers::digest digest;
  std::uint64_t size = 0;
  std::optional<layers::platform> platform;  ///< only on index entries
};

enum class manifest_kind { image, index };

/// A parsed manifest. Keeps only what a pull needs; the original bytes stay the truth.
struct manifest {
  manifest_kind kind = manifest_kind::image;
  std::string media_type;
  std::optional<descriptor> config;   ///< images only
  std::vector<descriptor> layers;     ///< images only
  std::vector<descriptor> manifests;  ///< indexes only

  /// The blobs an image pulls: its config, then its layers. Empty for an index.
  std::vector<descriptor> blobs() const;
};

/// Parses `bytes`. `content_type` is the HTTP header if known (may be empty); the document's
/// own `mediaType` and, failing that, its shape decide otherwise. On failure returns nullopt
/// with a reason in `why`.
std::optional<manifest> parse_manifest(std::string_view bytes, std::string_view content_type = {},
                                       std::string* why = nullptr);

/// True for the four manifest media types a registry serves under /manifests/.
bool is_manifest_media_type(std::string_view type);

/// The entry of `index` that runs on `want` (os and architecture must match; a variant, when
/// asked for, must match too). Null when none does.
const descriptor* select_platform(const manifest& index, const platform& want);

/// The platform of this process, in OCI terms ("linux", "amd64", "").
platform host_platform();

/// "os/architecture[/variant]" (e.g. "linux/arm64/v8"); nullopt when a part is missing, empty
/// or not [a-z0-9._-].
std::optional<platform> parse_platform(std::string_view text);
/// The same text back: "linux/amd64", "linux/arm64/v8".
std::string to_string(const platform& p);

}  // namespace rookery::layers
