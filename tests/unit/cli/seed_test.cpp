#include "cli/seed.hpp"

#include <catch2/catch.hpp>

using namespace rookery::cli;
using nlohmann::json;

namespace {

const json summary = {{"repository", "demo/app"},
                      {"reference", "v1"},
                      {"blobs",
                       {{{"digest", "sha256:aa"}, {"size", 10}, {"info_hash", "01"}},
                        {{"digest", "sha256:bb"}, {"size", 20}, {"info_hash", "02"}}}}};

}  // namespace

TEST_CASE("seed_errors: none in a clean summary", "[cli][seed]") {
  CHECK(seed_errors(summary).empty());
}

TEST_CASE("seed_errors: the image's error and each blob's", "[cli][seed]") {
  json s = summary;
  s["error"] = "registry answered 404 for v1";
  s["blobs"][1]["error"] = "upstream unavailable";
  const auto errors = seed_errors(s);
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "registry answered 404 for v1");
  CHECK(errors[1] == "sha256:bb: upstream unavailable");
}

TEST_CASE("seed_errors: not an object, no errors to name", "[cli][seed]") {
  CHECK(seed_errors(json::array()).empty());
}

TEST_CASE("not_seeding: the blobs the status does not list", "[cli][seed]") {
  const json status = {{"seeding", {{{"digest", "sha256:aa"}}}}};
  CHECK(not_seeding(summary, status) == std::vector<std::string>{"sha256:bb"});
}

TEST_CASE("not_seeding: all listed, nothing missing", "[cli][seed]") {
  const json status = {{"seeding", {{{"digest", "sha256:bb"}}, {{"digest", "sha256:aa"}}}}};
  CHECK(not_seeding(summary, status).empty());
}

TEST_CASE("not_seeding: a status without digests lists none as seeding", "[cli][seed]") {
  CHECK(not_seeding(summary, json{{"seeded_blobs", 2}}).size() == 2);
}
