#include "cli/status.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <iostream>

#include "cli/api_client.hpp"
#include "cli/progress.hpp"

namespace rookery::cli {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using nlohmann::json;
namespace {

// A count: a non-negative integer (parsed JSON has them unsigned, built JSON signed).
bool counts(const json& v) {
  return v.is_number_unsigned() || (v.is_number_integer() && v.get<std::int64_t>() >= 0);
}

// The number at `path` (e.g. {"store", "bytes"}) as text; "-" when absent.
std::string at(const json& doc, std::initializer_list<const char*> path, bool bytes = false) {
  const json* node = &doc;
  for (const char* key : path) {
    if (!node->is_object() || !node->contains(key)) return "-";
    node = &(*node)[key];
  }
  if (!counts(*node)) return "-";
  const auto value = node->get<std::uint64_t>();
  return bytes ? human_bytes(value) : std::to_string(value);
}

// The sum of `key` over the objects of the array at `list` ("-" when there is no such list).
std::string sum(const json* list, const char* key, bool bytes = false) {
  if (!list || !list->is_array()) return "-";
  std::uint64_t total = 0;
  for (const auto& item : *list)
    if (item.is_object() && item.contains(key) && counts(item[key]))
      total += item[key].get<std::uint64_t>();
  return bytes ? human_bytes(total) : std::to_string(total);
}

const json* find_path(const json& doc, const char* a, const char* b = nullptr) {
  if (!doc.is_object() || !doc.contains(a)) return nullptr;
  const json* node = &doc[a];
  if (!b) return node;
  return node->is_object() && node->contains(b) ? &(*node)[b] : nullptr;
}

asio::awaitable<void> fetch_status(api_client& client, const host& from,
                                   const std::string& authorization, reply& out) {
  const std::string target = "/v1/status", no_body;
  out = co_await client.call(from, bhttp::verb::get, target, no_body, authorization);
}

}  // namespace

std::vector<std::string> status_header() {
  return {"HOST",          "ROLE",     "BLOBS",    "STORE", "FROM PEERS",
          "FROM UPSTREAM", "UPLOADED", "TORRENTS", "PEERS", "IN FLIGHT"};
}

std::vector<std::string> status_row(const std::string& host, const json& s) {
  if (s.is_object() && s.contains("seeded_blobs")) {
    const json* seeding = find_path(s, "seeding");
    return {host,
            "seeder",
            at(s, {"seeded_blobs"}),
            at(s, {"store_bytes"}, true),
            "-",
            "-",
            sum(seeding, "uploaded", true),
            at(s, {"seeded_blobs"}),
            sum(seeding, "peers"),
            at(s, {"pending"})};
  }
  return {host,
          "proxy",
          at(s, {"store", "blobs"}),
          at(s, {"store", "bytes"}, true),
          at(s, {"bytes", "from_peers"}, true),
          at(s, {"bytes", "from_upstream"}, true),
          at(s, {"swarm", "uploaded"}, true),
          at(s, {"swarm", "torrent_count"}),
          sum(find_path(s, "swarm", "torrents"), "peers"),
          at(s, {"fetches_in_flight"})};
}

std::string format_table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], row[c].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t c = 0; c < row.size(); ++c) {
      line += row[c];
      if (c + 1 < row.size()) line += std::string(widths[c] - row[c].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

int run_status(const status_options& opts) {
  asio::io_context io(1);
  api_client client(io, http::client_options{});
  std::vector<reply> replies(opts.hosts.size());
  for (std::size_t i = 0; i < opts.hosts.size(); ++i) {
    asio::co_spawn(io, fetch_status(client, opts.hosts[i], opts.authorization, replies[i]),
                   asio::detached);
  }
  io.run();
  std::vector<std::vector<std::string>> rows{status_header()};
  int exit_status = 0;
  for (std::size_t i = 0; i < replies.size(); ++i) {
    const auto& r = replies[i];
    const auto doc = r.ok() ? json::parse(r.body, nullptr, false) : json();
    const std::string error = !r.error.empty()   ? r.error
                              : !r.ok()          ? describe_failure(r.status, r.body)
                              : !doc.is_object() ? std::string("not a status answer")
                                                 : std::string();
    const std::string& name = opts.hosts[i].name;
    if (!error.empty()) {
      exit_status = 1;
      std::cerr << "rookery: status of " << name << ": " << error << "\n";
    }
    if (opts.json) {
      json line = {{"host", name}};
      if (error.empty())
        line["status"] = doc;
      else
        line["error"] = error;
      std::cout << line.dump() << "\n";
    } else if (error.empty()) {
      rows.push_back(status_row(name, doc));
    } else {
      rows.push_back({name, "unreachable"});
    }
  }
  if (!opts.json) std::cout << format_table(rows);
  return exit_status;
}

}  // namespace rookery::cli
