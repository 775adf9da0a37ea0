#include "cli/status.hpp"

#include <catch2/catch.hpp>

using namespace rookery::cli;
using nlohmann::json;

TEST_CASE("status_row reads a proxy's counts", "[cli][status]") {
  const json s = {{"store", {{"bytes", 3 * 1024 * 1024}, {"blobs", 5}}},
                  {"fetches_in_flight", 1},
                  {"bytes", {{"from_peers", 2048}, {"from_upstream", 0}}},
                  {"swarm", {{"torrent_count", 5}, {"uploaded", 1024}}}};
  const auto row = status_row("http://a:5050", s);
  REQUIRE(row.size() == status_header().size());
  CHECK(row == std::vector<std::string>{"http://a:5050", "proxy", "5", "3.00 MiB", "2.00 KiB",
                                        "0 B", "1.00 KiB", "5", "-", "1"});
}

TEST_CASE("status_row sums the peers of a detailed proxy status", "[cli][status]") {
  const json s = {{"swarm", {{"torrents", {{{"peers", 2}}, {{"peers", 3}}}}}}};
  CHECK(status_row("a", s)[8] == "5");
}

TEST_CASE("status_row reads a seeder's counts", "[cli][status]") {
  const json s = {{"seeded_blobs", 4}, {"pending", 0}, {"store_bytes", 1024}};
  const auto row = status_row("http://s:5060", s);
  CHECK(row[1] == "seeder");
  CHECK(row[2] == "4");
  CHECK(row[3] == "1.00 KiB");
  CHECK(row[6] == "-");  // uploads only with the operator token
}

TEST_CASE("status_row sums uploads and peers of a seeder's detailed status", "[cli][status]") {
  const json s = {
      {"seeded_blobs", 2},
      {"seeding", {{{"uploaded", 1024}, {"peers", 1}}, {{"uploaded", 1024}, {"peers", 2}}}}};
  const auto row = status_row("s", s);
  CHECK(row[6] == "2.00 KiB");
  CHECK(row[8] == "3");
}

TEST_CASE("status_row shows - for what an answer lacks", "[cli][status]") {
  const auto row = status_row("a", json::object());
  CHECK(row[2] == "-");
  CHECK(row[9] == "-");
}

TEST_CASE("format_table aligns columns two spaces apart", "[cli][status]") {
  CHECK(format_table({{"HOST", "ROLE"}, {"http://a:5050", "proxy"}, {"b", "seeder"}}) ==
        "HOST           ROLE\n"
        "http://a:5050  proxy\n"
        "b              seeder\n");
}

TEST_CASE("format_table copes with short rows", "[cli][status]") {
  CHECK(format_table({{"A", "B", "C"}, {"x", "unreachable"}}) ==
        "A  B            C\nx  unreachable\n");
}
