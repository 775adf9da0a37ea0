#include "registry-proxy/gc.hpp"

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "http/offload.hpp"
#include "http/responses.hpp"
#include "layers/error.hpp"
#include "registry-proxy/proxy.hpp"

namespace rookery::proxy {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

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

// POST /v1/gc: runs in registry_proxy, beside the parsing and the report above.
asio::awaitable<void> registry_proxy::handle_gc(http::exchange& ex) {
  if (ex.req().method() != bhttp::verb::post)
    co_return co_await http::send_error(ex, errc::unsupported, "POST here to collect");
  if (!opts_.operator_token.admits(ex.req()[bhttp::field::authorization])) {
    std::string detail = opts_.operator_token.configured()
                             ? "this endpoint needs the operator token (Authorization: Bearer)"
                             : "no operator token is configured on this proxy";
    co_return co_await http::send_error(ex, errc::unauthorized, std::move(detail));
  }
  std::string why;
  const auto target = parse_gc_request(ex.req().body(), blobs_.budget_bytes(), why);
  if (!target) co_return co_await http::send_error(ex, errc::size_invalid, std::move(why));
  // Leased blobs (clients reading them) and blobs uploading to peers are passed over; each
  // evicted blob's torrent stops before its file goes (the store's hooks, thread-safe). On the
  // disk pool: unlinking gigabytes of blobs must not hold up the network thread.
  const auto report =
      co_await http::offload(io_, disk_, [this, bytes = *target] { return blobs_.collect(bytes); });
  ++metrics_.gc_runs;
  metrics_.gc_freed_bytes += report.freed_bytes;
  spdlog::info(
      "gc to {} bytes: freed {} blobs ({} bytes), kept {} ({} bytes), {} in use ({} bytes)",
      report.target_bytes, report.freed_blobs, report.freed_bytes, report.kept_blobs,
      report.kept_bytes, report.in_use_blobs, report.in_use_bytes);
  std::string text = gc_report_json(report);
  co_return co_await http::send_text(ex, std::move(text), "application/json");
}

}  // namespace rookery::proxy
