#include "cli/gc.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdio>
#include <iostream>

#include "cli/api_client.hpp"

namespace rookery::cli {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using nlohmann::json;
namespace {

constexpr std::uint64_t mib = 1024 * 1024;

std::string in_mib(std::uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MiB", static_cast<double>(bytes) / mib);
  return text;
}

asio::awaitable<void> collect(api_client& client, const host& proxy, const gc_options& opts,
                              reply& out) {
  const std::string target = "/v1/gc", body = gc_request_body(opts.target_mib);
  out = co_await client.call(proxy, bhttp::verb::post, target, body, opts.authorization);
}

// The report of one proxy's answer, or why there is none (`why`).
json report_of(const reply& r, std::string& why) {
  if (!r.error.empty()) {
    why = r.error;
    return json();
  }
  if (!r.ok()) {
    why = describe_failure(r.status, r.body);
    return json();
  }
  auto report = json::parse(r.body, nullptr, false);
  if (!report.is_object() || !report.contains("freed_bytes")) why = "not a gc answer";
  return report;
}

}  // namespace

std::string gc_request_body(const std::optional<std::uint64_t>& target_mib) {
  if (!target_mib) return "{}";
  return json{{"target_bytes", *target_mib * mib}}.dump();
}

std::string describe_gc(const std::string& host, const json& report) {
  const char* keys[] = {"target_bytes", "freed_bytes",  "freed_blobs", "kept_bytes",
                        "kept_blobs",   "in_use_bytes", "in_use_blobs"};
  for (const char* key : keys) {
    if (!report.contains(key) || !report[key].is_number_integer() || report[key] < 0) return {};
  }
  auto n = [&](const char* key) { return report[key].get<std::uint64_t>(); };
  return host + ": freed " + in_mib(n("freed_bytes")) + " (" + std::to_string(n("freed_blobs")) +
         " blobs), kept " + in_mib(n("kept_bytes")) + " (" + std::to_string(n("kept_blobs")) +
         " blobs), in use " + in_mib(n("in_use_bytes")) + " (" + std::to_string(n("in_use_blobs")) +
         " blobs); target " + in_mib(n("target_bytes"));
}

int run_gc(const gc_options& opts) {
  asio::io_context io(1);
  api_client client(io, http::client_options{});
  std::vector<reply> replies(opts.proxies.size());
  for (std::size_t i = 0; i < opts.proxies.size(); ++i)
    asio::co_spawn(io, collect(client, opts.proxies[i], opts, replies[i]), asio::detached);
  io.run();
  int exit_status = 0;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const std::string& name = opts.proxies[i].name;
    std::string why;
    const json report = report_of(replies[i], why);
    const std::string line = why.empty() ? describe_gc(name, report) : std::string();
    if (why.empty() && line.empty()) why = "not a gc answer";
    if (!why.empty()) {
      exit_status = 1;
      std::cerr << "rookery: gc of " << name << ": " << why << "\n";
    }
    if (opts.json) {
      json out = {{"host", name}};
      if (why.empty())
        out["gc"] = report;
      else
        out["error"] = why;
      std::cout << out.dump() << "\n";
    } else if (why.empty()) {
      std::cout << line << "\n";
    }
  }
  return exit_status;
}

}  // namespace rookery::cli
