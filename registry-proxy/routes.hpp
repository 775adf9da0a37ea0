// What a request to the pull API asks for: the target split and validated before anything
// touches the disk or the network.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <variant>

#include "layers/digest.hpp"

namespace rookery::proxy {

enum class route_kind {
  base,
  manifest,
  blob,
  metrics,
  healthz,
  status,
  prewarm,           ///< POST /v1/prewarm
  prewarm_progress,  ///< GET /v1/prewarm/{id}
  gc,                ///< POST /v1/gc
  unknown
};

struct route {
  route_kind kind = route_kind::unknown;
  std::string name;  ///< repository, for manifest and blob; the id for prewarm_progress
  std::string tag;   ///< manifest by tag
  std::optional<layers::digest> digest;  ///< manifest by digest, or blob
  std::string ns;                        ///< containerd's ?ns=, empty when absent
  std::string detail;                    ///< why it was refused
};

/// Splits `target`; on a grammar violation returns errc::name_invalid, digest_invalid (a blob's
/// digest) or manifest_unknown (a manifest reference that is neither a tag nor a digest) in
/// `ec` with a reason in route::detail.
route parse_route(std::string_view target, std::error_code& ec);

}  // namespace rookery::proxy
