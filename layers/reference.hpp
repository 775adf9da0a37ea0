// The OCI grammar for repository names and tags (distribution spec, "Pulling manifests").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rookery::layers {

/// True when `name` follows the OCI repository-name grammar (at most 255 characters).
bool valid_repository_name(std::string_view name);
/// True when `tag` follows the OCI tag grammar.
bool valid_tag(std::string_view tag);

/// An image named within one registry: "repository[:tag]" or "repository@digest".
struct image_reference {
  std::string repository;
  std::string reference;  ///< the tag ("latest" when none was given) or the digest
};

/// Splits and validates "repository[:tag]" / "repository@digest"; nullopt when either part
/// breaks the grammar.
std::optional<image_reference> parse_image_reference(std::string_view text);

}  // namespace rookery::layers
