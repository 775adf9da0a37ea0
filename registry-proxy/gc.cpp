#include "registry-proxy/gc.hpp"

#include <nlohmann/json.hpp>

namespace rookery::proxy {

std::optional<std::uint64_t> parse_gc_request(std::string_view body, std::uint64_t budget_bytes,
                                              std::string& why) {
  const auto first = body.find_first_not_of(" \t\r\n");
  const auto request = first == std::string_view::npos
                           ? nlohmann::json::object()
                           : nlohmann::json::parse(body, nullptr, false);
  if (!request.is_object()) {
    why = "the body must be a JSON object, e.g. {\"target_bytes\": 1073741824}";
    return std::nullopt;
  }
  const auto target = request.find("target_bytes");
  if (target == request.end()) {
    if (budget_bytes == 0)
      why = "this proxy has no --cache-budget-mib: name a target_bytes";
    else
      return budget_bytes;
    return std::nullopt;
  }
  if (!target->is_number_unsigned()) {
    why = "target_bytes must be a non-negative integer";
    return std::nullopt;
  }
  return target->get<std::uint64_t>();
}

std::string gc_report_json(const layers::blob_store::collect_report& report) {
  const nlohmann::json out = {
      {"target_bytes", report.target_bytes}, {"freed_bytes", report.freed_bytes},
      {"freed_blobs", report.freed_blobs},   {"kept_bytes", report.kept_bytes},
      {"kept_blobs", report.kept_blobs},     {"in_use_bytes", report.in_use_bytes},
      {"in_use_blobs", report.in_use_blobs}};
  return out.dump();
}

}  // namespace rookery::proxy
