// The OCI grammar for repository names and tags (distribution spec, "Pulling manifests").
#pragma once

#include <string_view>

namespace rookery::layers {

/// True when `name` follows the OCI repository-name grammar (at most 255 characters).
bool valid_repository_name(std::string_view name);
/// True when `tag` follows the OCI tag grammar.
bool valid_tag(std::string_view tag);

}  // namespace rookery::layers
