// POST /v1/gc: what an operator asks the proxy's blob store to give back, and the answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "layers/blob_store.hpp"

namespace rookery::proxy {

/// The target of a gc request body: `{"target_bytes": N}`, or an empty body (or `{}`) for the
/// store's budget. Nullopt with a reason in `why` when the body is not such JSON, or when it
/// names no target and the store has no budget.
std::optional<std::uint64_t> parse_gc_request(std::string_view body, std::uint64_t budget_bytes,
                                              std::string& why);

/// The report as the JSON the endpoint answers: target_bytes, freed_bytes, freed_blobs,
/// kept_bytes, kept_blobs, in_use_bytes, in_use_blobs.
std::string gc_report_json(const layers::blob_store::collect_report& report);

}  // namespace rookery::proxy
