#include "layers/manifest.hpp"

#include <catch2/catch.hpp>

using namespace rookery::layers;

namespace {
const std::string d1 = "sha256:" + std::string(64, '1');
const std::string d2 = "sha256:" + std::string(64, '2');
const std::string d3 = "sha256:" + std::string(64, '3');

std::string oci_image() {
  return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
         d1 + R"(","size":7},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         d2 + R"(","size":100},
              {"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
         d3 + R"(","size":200}]})";
}
}  // namespace

TEST_CASE("manifest parses an OCI image manifest", "[manifest]") {
  auto m = parse_manifest(oci_image());
  REQUIRE(m);
  CHECK(m->kind == manifest_kind::image);
  CHECK(m->media_type == media_type::oci_manifest);
  auto blobs = m->blobs();
  REQUIRE(blobs.size() == 3);
  CHECK(blobs[0].digest.str() == d1);
  CHECK(blobs[2].size == 200);
}

TEST_CASE("manifest parses a Docker schema2 manifest", "[manifest]") {
  std::string doc =
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
    "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
      d1 + R"(","size":7},
    "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
      d2 + R"(","size":5}]})";
  auto m = parse_manifest(doc);
  REQUIRE(m);
  CHECK(m->media_type == media_type::docker_manifest);
  CHECK(m->blobs().size() == 2);
}

TEST_CASE("manifest without mediaType takes the content type", "[manifest]") {
  std::string doc = R"({"schemaVersion":2,"manifests":[]})";
  auto m = parse_manifest(doc, media_type::docker_manifest_list);
  REQUIRE(m);
  CHECK(m->kind == manifest_kind::index);
  CHECK(m->media_type == media_type::docker_manifest_list);
}

TEST_CASE("index selects the host platform", "[manifest]") {
  std::string doc =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      d1 + R"(","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
    {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
      d2 + R"(","size":1,"platform":{"os":"linux","architecture":"amd64"}}]})";
  auto m = parse_manifest(doc);
  REQUIRE(m);
  REQUIRE(m->manifests.size() == 2);
  const descriptor* amd = select_platform(*m, {"linux", "amd64", ""});
  REQUIRE(amd);
  CHECK(amd->digest.str() == d2);
  CHECK(select_platform(*m, {"linux", "arm64", "v7"}) == nullptr);
  CHECK(select_platform(*m, {"windows", "amd64", ""}) == nullptr);
}

TEST_CASE("manifest rejects malformed JSON with a reason", "[manifest]") {
  std::string why;
  CHECK_FALSE(parse_manifest("{\"schemaVersion\":2,", {}, &why));
  CHECK(why == "manifest is not valid JSON");
}

TEST_CASE("manifest rejects a bad layer digest", "[manifest]") {
  std::string doc = oci_image();
  doc.replace(doc.find(d2), d2.size(), "sha256:nothex");
  std::string why;
  CHECK_FALSE(parse_manifest(doc, {}, &why));
  CHECK(why.find("descriptor digest") != std::string::npos);
}

TEST_CASE("manifest rejects a negative size", "[manifest]") {
  std::string doc = oci_image();
  doc.replace(doc.find("\"size\":100"), 10, "\"size\":-1");
  CHECK_FALSE(parse_manifest(doc));
}

TEST_CASE("manifest rejects schema version 1", "[manifest]") {
  CHECK_FALSE(parse_manifest(R"({"schemaVersion":1,"layers":[]})"));
}

TEST_CASE("manifest rejects unknown media types", "[manifest]") {
  std::string why;
  CHECK_FALSE(parse_manifest(R"({"schemaVersion":2,"mediaType":"text/html"})", {}, &why));
  CHECK(why.find("unsupported manifest media type") != std::string::npos);
}

TEST_CASE("manifest rejects documents over 4 MiB", "[manifest]") {
  std::string doc = oci_image();
  doc.append(max_manifest_bytes, ' ');
  std::string why;
  CHECK_FALSE(parse_manifest(doc, {}, &why));
  CHECK(why == "manifest larger than 4 MiB");
}

TEST_CASE("manifest rejects a non-object document", "[manifest]") {
  CHECK_FALSE(parse_manifest("[1,2,3]"));
}

TEST_CASE("parse_platform reads os/architecture", "[manifest][platform]") {
  const auto p = rookery::layers::parse_platform("linux/amd64");
  REQUIRE(p);
  CHECK(p->os == "linux");
  CHECK(p->architecture == "amd64");
  CHECK(p->variant.empty());
}

TEST_CASE("parse_platform reads a variant", "[manifest][platform]") {
  const auto p = rookery::layers::parse_platform("linux/arm/v7");
  REQUIRE(p);
  CHECK(p->variant == "v7");
  CHECK(rookery::layers::to_string(*p) == "linux/arm/v7");
}

TEST_CASE("parse_platform refuses missing, empty or odd parts", "[manifest][platform]") {
  using rookery::layers::parse_platform;
  CHECK_FALSE(parse_platform("linux"));
  CHECK_FALSE(parse_platform("linux/"));
  CHECK_FALSE(parse_platform("/amd64"));
  CHECK_FALSE(parse_platform("linux/amd64/v8/x"));
  CHECK_FALSE(parse_platform("Linux/AMD64"));
  CHECK_FALSE(parse_platform("linux/amd 64"));
}
