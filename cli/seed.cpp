#include "cli/seed.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <set>

#include "cli/api_client.hpp"
#include "cli/progress.hpp"

namespace rookery::cli {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using nlohmann::json;
namespace {

using clock = std::chrono::steady_clock;

asio::awaitable<void> pause(std::chrono::milliseconds how_long) {
  asio::steady_timer timer(co_await asio::this_coro::executor, how_long);
  co_await timer.async_wait(asio::use_awaitable);
}

// One attempt: the seeder seeds the image; the summary, or why it did not (`why`, `final` when
// trying again cannot help).
asio::awaitable<json> seed_once(api_client& client, const seed_options& opts, std::string& why,
                                bool& final) {
  const std::string target = "/v1/seed", body = json{{"image", opts.image}}.dump();
  const reply r =
      co_await client.call(opts.seeder, bhttp::verb::post, target, body, opts.authorization);
  why.clear();
  final = false;
  if (!r.error.empty()) {
    why = r.error;
    co_return json();
  }
  if (!r.ok()) {
    why = describe_failure(r.status, r.body);
    final = r.status < 500 && r.status != 429;
    co_return json();
  }
  json summary = json::parse(r.body, nullptr, false);
  if (!summary.is_object()) why = "the seeder's answer is not JSON";
  for (const auto& e : seed_errors(summary)) why += (why.empty() ? "" : "; ") + e;
  if (why.empty() && (!summary.contains("blobs") || summary["blobs"].empty()))
    why = "the image has no blobs to seed";
  co_return summary;
}

// --wait: until the seeder's status lists every blob of the summary, or the deadline.
asio::awaitable<std::string> until_seeding(api_client& client, const seed_options& opts,
                                           const json& summary, clock::time_point deadline) {
  const std::string target = "/v1/status", no_body;
  std::string why;
  for (;;) {
    const reply r =
        co_await client.call(opts.seeder, bhttp::verb::get, target, no_body, opts.authorization);
    if (r.ok()) {
      const auto status = json::parse(r.body, nullptr, false);
      const auto missing = not_seeding(summary, status);
      if (missing.empty()) co_return std::string();
      why = std::to_string(missing.size()) + " blobs not seeding yet, e.g. " + missing.front();
      if (!status.contains("seeding")) why = "the seeder's status lists no blobs: wrong token?";
    } else {
      why = r.error.empty() ? describe_failure(r.status, r.body) : r.error;
    }
    if (clock::now() >= deadline) co_return why;
    co_await pause(std::chrono::milliseconds(500));
  }
}

void print_summary(const seed_options& opts, const json& summary, const std::string& why) {
  if (opts.json) {
    json line = summary.is_object() ? summary : json::object();
    line["seeder"] = opts.seeder.name;
    line["seeding"] = why.empty();
    if (!why.empty()) line["failure"] = why;
    std::cout << line.dump() << "\n";
    return;
  }
  std::uint64_t bytes = 0;
  const json blobs = summary.is_object() ? summary.value("blobs", json::array()) : json::array();
  for (const auto& b : blobs) bytes += b.value("size", std::uint64_t{0});
  std::cout << opts.image << " on " << opts.seeder.name << ": " << blobs.size() << " blobs, "
            << human_bytes(bytes) << (why.empty() ? ", every one seeding" : "") << "\n";
  for (const auto& b : blobs)
    std::cout << "  " << b.value("digest", "?") << "  " << human_bytes(b.value("size", 0ull))
              << "  " << b.value("error", "seeding") << "\n";
  if (!why.empty())
    std::cerr << "rookery: seed failed on " << opts.seeder.name << ": " << why << "\n";
}

asio::awaitable<int> seed(api_client& client, const seed_options& opts) {
  const auto deadline = clock::now() + opts.timeout;
  std::string why;
  json summary;
  for (;;) {
    bool final = false;
    summary = co_await seed_once(client, opts, why, final);
    if (!opts.wait || final) break;
    if (why.empty()) why = co_await until_seeding(client, opts, summary, deadline);
    if (why.empty() || clock::now() >= deadline) break;
    co_await pause(std::chrono::seconds(2));  // e.g. the push has not reached the registry yet
  }
  print_summary(opts, summary, why);
  co_return why.empty() ? 0 : 1;
}

}  // namespace

std::vector<std::string> seed_errors(const json& summary) {
  std::vector<std::string> out;
  if (!summary.is_object()) return out;
  if (summary.contains("error") && summary["error"].is_string()) out.push_back(summary["error"]);
  if (!summary.contains("blobs") || !summary["blobs"].is_array()) return out;
  for (const auto& b : summary["blobs"]) {
    if (b.is_object() && b.contains("error") && b["error"].is_string())
      out.push_back(b.value("digest", "?") + ": " + b["error"].get<std::string>());
  }
  return out;
}

std::vector<std::string> not_seeding(const json& summary, const json& status) {
  std::set<std::string> seeding;
  if (status.is_object() && status.contains("seeding") && status["seeding"].is_array()) {
    for (const auto& b : status["seeding"])
      if (b.is_object()) seeding.insert(b.value("digest", ""));
  }
  std::vector<std::string> out;
  if (!summary.is_object() || !summary.contains("blobs") || !summary["blobs"].is_array())
    return out;
  for (const auto& b : summary["blobs"]) {
    const std::string d = b.is_object() ? b.value("digest", "") : "";
    if (!seeding.count(d)) out.push_back(d);
  }
  return out;
}

int run_seed(const seed_options& opts) {
  asio::io_context io(1);
  http::client_options copts;
  copts.response_timeout = opts.timeout;  // the seeder answers once it fetched the whole image
  copts.idle_timeout = opts.timeout;
  api_client client(io, copts);
  int status = 1;
  asio::co_spawn(io, seed(client, opts), [&status](std::exception_ptr e, int s) {
    if (!e) status = s;
  });
  io.run();
  return status;
}

}  // namespace rookery::cli
