#include "cli/image_archive.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/tarball.hpp"

using namespace rookery::cli;
using nlohmann::json;
using rookery::layers::digest;
using rookery::layers::digest_of;
namespace fs = std::filesystem;

namespace {

// A tarball's scan, built by hand: files by path, JSON ones kept as documents.
struct fake_tarball {
  tarball_scan scan;
  fake_tarball() { scan.source = "t.tar"; }
  void add(const std::string& path, const std::string& bytes) {
    scan.files.insert_or_assign(path, tarball_scan::file{digest_of(bytes), bytes.size()});
    if (!bytes.empty() && (bytes[0] == '{' || bytes[0] == '[')) scan.documents[path] = bytes;
  }
  digest add_blob(const std::string& bytes) {
    const digest d = digest_of(bytes);
    add(oci_blob_path(d), bytes);
    return d;
  }
};

json descriptor(const std::string& type, const std::string& bytes) {
  return {{"mediaType", type}, {"digest", digest_of(bytes).str()}, {"size", bytes.size()}};
}

const std::string config_bytes = R"({"rootfs":{"type":"layers","diff_ids":[]}})";
const std::string layer1 = "layer one bytes", layer2 = "layer two bytes";

std::string image_manifest() {
  return json{{"schemaVersion", 2},
              {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
              {"config", descriptor("application/vnd.oci.image.config.v1+json", config_bytes)},
              {"layers",
               {descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer1),
                descriptor("application/vnd.oci.image.layer.v1.tar+gzip", layer2)}}}
      .dump();
}

// An OCI layout with one image, tagged `ref_name` (none when empty).
fake_tarball oci_layout(const std::string& ref_name) {
  fake_tarball t;
  t.add("oci-layout", oci_layout_document());
  t.add_blob(config_bytes);
  t.add_blob(layer1);
  t.add_blob(layer2);
  const std::string m = image_manifest();
  t.add_blob(m);
  manifest_document doc{digest_of(m), "application/vnd.oci.image.manifest.v1+json", m};
  t.add("index.json", oci_index_document(doc, ref_name));
  return t;
}

// A docker-archive of two uncompressed layers, as skopeo writes one.
fake_tarball docker_archive(const std::string& repo_tag) {
  fake_tarball t;
  const std::string config =
      json{{"rootfs",
            {{"type", "layers"}, {"diff_ids", {digest_of(layer1).str(), digest_of(layer2).str()}}}}}
          .dump();
  t.add(digest_of(config).hex() + ".json", config);
  t.add(digest_of(layer1).hex() + ".tar", layer1);
  t.add(digest_of(layer2).hex() + ".tar", layer2);
  t.add("manifest.json",
        docker_manifest_document(
            digest_of(config).hex() + ".json",
            {digest_of(layer1).hex() + ".tar", digest_of(layer2).hex() + ".tar"}, repo_tag));
  return t;
}

std::string refusal(const tarball_scan& scan, const std::optional<image_name>& name = {}) {
  try {
    plan_import(scan, name);
  } catch (const import_error& e) {
    return e.what();
  }
  return "(accepted)";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("plan_import: an OCI layout's image, its blobs, manifest bytes and tag",
          "[cli][image_archive]") {
  const auto t = oci_layout("v1");
  const auto plans = plan_import(t.scan, image_name{"demo/app", ""});
  REQUIRE(plans.size() == 1);
  CHECK(plans[0].repository == "demo/app");
  CHECK(plans[0].tags == std::vector<std::string>{"v1"});
  REQUIRE(plans[0].blobs.size() == 3);
  CHECK(plans[0].blobs[0].digest == digest_of(config_bytes));
  CHECK(plans[0].blobs[1].path == oci_blob_path(digest_of(layer1)));
  CHECK(plans[0].top().bytes == image_manifest());
}

TEST_CASE("plan_import: --image's tag replaces the tarball's", "[cli][image_archive]") {
  const auto plans = plan_import(oci_layout("v1").scan, image_name{"other", "v9"});
  CHECK(plans[0].repository == "other");
  CHECK(plans[0].tags == std::vector<std::string>{"v9"});
}

TEST_CASE("plan_import: an OCI ref.name that is a whole reference names the repository",
          "[cli][image_archive]") {
  const auto plans = plan_import(oci_layout("127.0.0.1:5000/demo/app:v2").scan, std::nullopt);
  CHECK(plans[0].repository == "demo/app");
  CHECK(plans[0].tags == std::vector<std::string>{"v2"});
}

TEST_CASE("plan_import: an OCI image without a repository asks for --image",
          "[cli][image_archive]") {
  CHECK(contains(refusal(oci_layout("v1").scan), "--image"));
}

TEST_CASE("plan_import: an OCI blob whose bytes do not match its name is refused, named",
          "[cli][image_archive]") {
  auto t = oci_layout("v1");
  const digest d = digest_of(layer2);
  t.scan.files.at(oci_blob_path(d)).digest = digest_of("flipped");
  const auto why = refusal(t.scan, image_name{"demo/app", ""});
  CHECK(contains(why, "blob " + d.str() + " is corrupted"));
}

TEST_CASE("plan_import: a blob the manifest names but the tarball lacks is refused",
          "[cli][image_archive]") {
  auto t = oci_layout("v1");
  t.scan.files.erase(oci_blob_path(digest_of(layer1)));
  CHECK(contains(refusal(t.scan, image_name{"demo/app", ""}),
                 "blob " + digest_of(layer1).str() + " is missing"));
}

TEST_CASE("plan_import: a blob of another size than its descriptor is refused",
          "[cli][image_archive]") {
  auto t = oci_layout("v1");
  t.scan.files.at(oci_blob_path(digest_of(layer1))).size += 1;
  CHECK(contains(refusal(t.scan, image_name{"demo/app", ""}), "its manifest says"));
}

TEST_CASE("plan_import: an index's children are pushed before the index", "[cli][image_archive]") {
  auto t = oci_layout("");
  const std::string child = image_manifest();
  json entry = descriptor("application/vnd.oci.image.manifest.v1+json", child);
  entry["platform"] = {{"os", "linux"}, {"architecture", "amd64"}};
  const std::string index = json{
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.index.v1+json"},
      {"manifests", {entry}}}.dump();
  t.add_blob(index);
  t.add("index.json",
        oci_index_document({digest_of(index), "application/vnd.oci.image.index.v1+json", index},
                           "v3"));
  const auto plans = plan_import(t.scan, image_name{"demo/multi", ""});
  REQUIRE(plans[0].manifests.size() == 2);
  CHECK(plans[0].manifests[0].digest == digest_of(child));
  CHECK(plans[0].top().digest == digest_of(index));
  CHECK(plans[0].tags == std::vector<std::string>{"v3"});
}

TEST_CASE("plan_import: a docker-archive becomes an OCI manifest of uncompressed layers",
          "[cli][image_archive]") {
  const auto plans = plan_import(docker_archive("docker.io/demo/app:v1").scan, std::nullopt);
  REQUIRE(plans.size() == 1);
  CHECK(plans[0].repository == "demo/app");
  CHECK(plans[0].tags == std::vector<std::string>{"v1"});
  REQUIRE(plans[0].blobs.size() == 3);
  const auto m = json::parse(plans[0].top().bytes);
  CHECK(plans[0].top().digest == digest_of(plans[0].top().bytes));
  CHECK(m["mediaType"] == "application/vnd.oci.image.manifest.v1+json");
  CHECK(m["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar");
  CHECK(m["layers"][1]["digest"] == digest_of(layer2).str());
  CHECK(m["config"]["digest"] == plans[0].blobs[0].digest.str());
}

TEST_CASE("plan_import: a docker-archive layer that is not its diff_id is refused, named",
          "[cli][image_archive]") {
  auto t = docker_archive("demo/app:v1");
  t.scan.files.at(digest_of(layer2).hex() + ".tar").digest = digest_of("flipped");
  const auto why = refusal(t.scan);
  CHECK(contains(why, "layer " + digest_of(layer2).str()));
  CHECK(contains(why, "corrupted"));
}

TEST_CASE("plan_import: a docker-archive config that is not its name is refused",
          "[cli][image_archive]") {
  auto t = docker_archive("demo/app:v1");
  for (auto& [path, f] : t.scan.files)
    if (path.size() > 5 && path.substr(path.size() - 5) == ".json") f.digest = digest_of("x");
  CHECK(contains(refusal(t.scan), "config sha256:"));
}

TEST_CASE("plan_import: neither format is refused", "[cli][image_archive]") {
  fake_tarball t;
  t.add("hello.txt", "hi");
  CHECK(contains(refusal(t.scan), "neither a docker-archive"));
}

TEST_CASE("plan_import: --image with a tarball of two images is refused", "[cli][image_archive]") {
  auto t = docker_archive("demo/app:v1");
  auto items = json::parse(t.scan.documents.at("manifest.json"));
  items.push_back(items[0]);
  t.add("manifest.json", items.dump());
  CHECK(plan_import(t.scan, std::nullopt).size() == 2);
  CHECK(contains(refusal(t.scan, image_name{"x", ""}), "holds 2"));
}

TEST_CASE("parse_image_name: a registry host is dropped, a digest refused",
          "[cli][image_archive]") {
  auto n = parse_image_name("docker.io/library/alpine:3.19");
  REQUIRE(n);
  CHECK(n->repository == "library/alpine");
  CHECK(n->tag == "3.19");
  n = parse_image_name("localhost:5000/app");
  REQUIRE(n);
  CHECK(n->repository == "app");
  CHECK(n->tag.empty());
  CHECK(parse_image_name("demo/app")->repository == "demo/app");
  CHECK_FALSE(parse_image_name("Demo/App:v1"));
  CHECK_FALSE(parse_image_name("demo/app@" + digest_of("x").str()));
}

TEST_CASE("normalise_tar_path: dots and doubled slashes go, leaving the root is empty",
          "[cli][image_archive]") {
  CHECK(normalise_tar_path("./a//b/../c") == "a/c");
  CHECK(normalise_tar_path("blobs/sha256/x") == "blobs/sha256/x");
  CHECK(normalise_tar_path("../x").empty());
}

TEST_CASE("scan_tarball: hashes every file and keeps small JSON ones whole",
          "[cli][image_archive]") {
  const fs::path path =
      fs::temp_directory_path() / ("rookery-scan-test-" + std::to_string(::getpid()) + ".tar");
  {
    tar_writer w(path.string(), true);
    w.add_file("./manifest.json", "[1]");
    w.add_file("layer.tar", layer1);
    w.close();
  }
  const auto scan = scan_tarball(path.string());
  fs::remove(path);
  CHECK(scan.files.at("manifest.json").digest == digest_of("[1]"));
  CHECK(scan.files.at("layer.tar").digest == digest_of(layer1));
  CHECK(scan.files.at("layer.tar").size == layer1.size());
  CHECK(scan.documents.at("manifest.json") == "[1]");
  CHECK_FALSE(scan.documents.count("layer.tar"));
}

TEST_CASE("export documents: index.json names the manifest and its reference",
          "[cli][image_archive]") {
  const std::string m = image_manifest();
  const auto index = json::parse(oci_index_document(
      {digest_of(m), "application/vnd.oci.image.manifest.v1+json", m}, "demo/app:v1"));
  CHECK(index["schemaVersion"] == 2);
  CHECK(index["manifests"][0]["digest"] == digest_of(m).str());
  CHECK(index["manifests"][0]["size"] == m.size());
  CHECK(index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] == "demo/app:v1");
  const auto docker = json::parse(docker_manifest_document("c.json", {"a.tar"}, ""));
  CHECK(docker[0]["RepoTags"].empty());
  CHECK(docker[0]["Layers"][0] == "a.tar");
}
