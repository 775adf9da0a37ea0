#include "registry-proxy/routes.hpp"

#include <catch2/catch.hpp>

#include "layers/error.hpp"

using rookery::errc;
using rookery::proxy::parse_route;
using rookery::proxy::route;
using rookery::proxy::route_kind;

namespace {

const std::string sha = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

route parse_ok(std::string_view target) {
  std::error_code ec = make_error_code(errc::store_failure);  // must be cleared
  auto r = parse_route(target, ec);
  INFO(target);
  CHECK_FALSE(ec);
  CHECK(r.detail.empty());
  return r;
}

route parse_bad(std::string_view target, errc expected) {
  std::error_code ec;
  auto r = parse_route(target, ec);
  INFO(target);
  CHECK(ec == expected);
  CHECK_FALSE(r.detail.empty());
  return r;
}

}  // namespace

// ---- fixed endpoints ----------------------------------------------------------

TEST_CASE("routes: /v2/ is the base endpoint", "[routes]") {
  CHECK(parse_ok("/v2/").kind == route_kind::base);
}

TEST_CASE("routes: /v2 without the slash is the base endpoint", "[routes]") {
  CHECK(parse_ok("/v2").kind == route_kind::base);
}

TEST_CASE("routes: /metrics", "[routes]") {
  CHECK(parse_ok("/metrics").kind == route_kind::metrics);
}

TEST_CASE("routes: /healthz", "[routes]") {
  CHECK(parse_ok("/healthz").kind == route_kind::healthz);
}

TEST_CASE("routes: /v1/status", "[routes]") {
  CHECK(parse_ok("/v1/status").kind == route_kind::status);
}

TEST_CASE("routes: /healthz with a query is still /healthz", "[routes]") {
  CHECK(parse_ok("/healthz?verbose=1").kind == route_kind::healthz);
}

TEST_CASE("routes: the root is unknown", "[routes]") {
  CHECK(parse_ok("/").kind == route_kind::unknown);
}

TEST_CASE("routes: an unrelated path is unknown", "[routes]") {
  CHECK(parse_ok("/favicon.ico").kind == route_kind::unknown);
}

TEST_CASE("routes: a near miss of /metrics is unknown", "[routes]") {
  CHECK(parse_ok("/metrics/").kind == route_kind::unknown);
}

TEST_CASE("routes: the empty target is unknown", "[routes]") {
  CHECK(parse_ok("").kind == route_kind::unknown);
}

TEST_CASE("routes: the catalog is unknown", "[routes]") {
  CHECK(parse_ok("/v2/_catalog").kind == route_kind::unknown);
}

TEST_CASE("routes: tags/list is unknown", "[routes]") {
  CHECK(parse_ok("/v2/library/alpine/tags/list").kind == route_kind::unknown);
}

TEST_CASE("routes: /v2/ paths are case-sensitive", "[routes]") {
  CHECK(parse_ok("/V2/library/alpine/manifests/3").kind == route_kind::unknown);
}

// ---- manifests ------------------------------------------------------------------

TEST_CASE("routes: a manifest by tag", "[routes]") {
  auto r = parse_ok("/v2/alpine/manifests/3.19");
  CHECK(r.kind == route_kind::manifest);
  CHECK(r.name == "alpine");
  CHECK(r.tag == "3.19");
  CHECK_FALSE(r.digest);
  CHECK(r.ns.empty());
}

TEST_CASE("routes: a manifest by digest", "[routes]") {
  auto r = parse_ok("/v2/alpine/manifests/" + sha);
  CHECK(r.kind == route_kind::manifest);
  REQUIRE(r.digest);
  CHECK(r.digest->str() == sha);
  CHECK(r.tag.empty());
}

TEST_CASE("routes: a name with slashes", "[routes]") {
  auto r = parse_ok("/v2/library/team/alpine/manifests/latest");
  CHECK(r.kind == route_kind::manifest);
  CHECK(r.name == "library/team/alpine");
  CHECK(r.tag == "latest");
}

TEST_CASE("routes: a name with separators", "[routes]") {
  auto r = parse_ok("/v2/my-org/some_repo.name__x/manifests/v1");
  CHECK(r.name == "my-org/some_repo.name__x");
}

TEST_CASE("routes: a name whose component is 'manifests' splits at the last one", "[routes]") {
  auto r = parse_ok("/v2/a/manifests/b/manifests/latest");
  CHECK(r.kind == route_kind::manifest);
  CHECK(r.name == "a/manifests/b");
  CHECK(r.tag == "latest");
}

TEST_CASE("routes: a tag with upper case, dots and dashes", "[routes]") {
  CHECK(parse_ok("/v2/a/manifests/V1.2-rc_3").tag == "V1.2-rc_3");
}

TEST_CASE("routes: a 128-character tag is the longest allowed", "[routes]") {
  CHECK(parse_ok("/v2/a/manifests/" + std::string(128, 't')).tag.size() == 128);
}

TEST_CASE("routes: a 129-character tag is manifest_unknown", "[routes]") {
  parse_bad("/v2/a/manifests/" + std::string(129, 't'), errc::manifest_unknown);
}

TEST_CASE("routes: a tag starting with a dot is manifest_unknown", "[routes]") {
  auto r = parse_bad("/v2/a/manifests/.hidden", errc::manifest_unknown);
  CHECK(r.detail == "reference is neither a tag nor a digest");
  CHECK(r.tag.empty());
}

TEST_CASE("routes: a tag starting with a dash is manifest_unknown", "[routes]") {
  parse_bad("/v2/a/manifests/-x", errc::manifest_unknown);
}

TEST_CASE("routes: an empty reference is manifest_unknown", "[routes]") {
  parse_bad("/v2/a/manifests/", errc::manifest_unknown);
}

TEST_CASE("routes: a reference with a trailing slash is manifest_unknown", "[routes]") {
  parse_bad("/v2/a/manifests/latest/", errc::manifest_unknown);
}

TEST_CASE("routes: a reference with a colon is read as a digest", "[routes]") {
  auto r = parse_bad("/v2/a/manifests/v1:2", errc::manifest_unknown);
  CHECK_FALSE(r.digest);
  CHECK(r.tag.empty());
}

TEST_CASE("routes: a manifest digest with upper-case hex is manifest_unknown", "[routes]") {
  auto r = parse_bad("/v2/a/manifests/sha256:" + std::string(64, 'A'), errc::manifest_unknown);
  CHECK(r.detail.find("lowercase") != std::string::npos);
}

TEST_CASE("routes: a manifest by an unknown algorithm is manifest_unknown with its name",
          "[routes]") {
  auto r =
      parse_bad("/v2/a/manifests/md5:d41d8cd98f00b204e9800998ecf8427e", errc::manifest_unknown);
  CHECK(r.detail.find("md5") != std::string::npos);
}

// ---- blobs ----------------------------------------------------------------------

TEST_CASE("routes: a blob", "[routes]") {
  auto r = parse_ok("/v2/library/alpine/blobs/" + sha);
  CHECK(r.kind == route_kind::blob);
  CHECK(r.name == "library/alpine");
  REQUIRE(r.digest);
  CHECK(r.digest->str() == sha);
  CHECK(r.tag.empty());
}

TEST_CASE("routes: a sha512 blob", "[routes]") {
  auto r = parse_ok("/v2/a/blobs/sha512:" + std::string(128, 'f'));
  REQUIRE(r.digest);
  CHECK(r.digest->hex().size() == 128);
}

TEST_CASE("routes: a blob by an unknown algorithm is digest_invalid", "[routes]") {
  auto r = parse_bad("/v2/a/blobs/md5:d41d8cd98f00b204e9800998ecf8427e", errc::digest_invalid);
  CHECK(r.detail.find("md5") != std::string::npos);
}

TEST_CASE("routes: a blob by a sha512 digest is accepted", "[routes]") {
  std::error_code ec;
  const auto r = parse_route("/v2/a/blobs/sha512:" + std::string(128, 'b'), ec);
  CHECK_FALSE(ec);
  REQUIRE(r.digest);
  CHECK(r.digest->str() == "sha512:" + std::string(128, 'b'));
}

TEST_CASE("routes: a blob by tag is digest_invalid", "[routes]") {
  auto r = parse_bad("/v2/a/blobs/latest", errc::digest_invalid);
  CHECK(r.kind == route_kind::blob);
  CHECK_FALSE(r.digest);
}

TEST_CASE("routes: a blob with path traversal is digest_invalid", "[routes]") {
  parse_bad("/v2/a/blobs/sha256:../../../etc/passwd", errc::digest_invalid);
}

TEST_CASE("routes: a blob with a short digest is digest_invalid", "[routes]") {
  parse_bad("/v2/a/blobs/sha256:abc", errc::digest_invalid);
}

TEST_CASE("routes: a blob with an empty digest is digest_invalid", "[routes]") {
  parse_bad("/v2/a/blobs/", errc::digest_invalid);
}

TEST_CASE("routes: an upload path is a blob route with no valid digest", "[routes]") {
  // Not unknown: the caller refuses it as a non-read (POST/PUT/PATCH) before looking at ec.
  auto r = parse_bad("/v2/a/blobs/uploads/", errc::digest_invalid);
  CHECK(r.kind == route_kind::blob);
  CHECK(r.name == "a");
}

// ---- names ----------------------------------------------------------------------

TEST_CASE("routes: an upper-case name is name_invalid", "[routes]") {
  auto r = parse_bad("/v2/Library/alpine/manifests/3", errc::name_invalid);
  CHECK(r.detail == "repository name does not match the OCI grammar");
  CHECK(r.name.empty());
}

TEST_CASE("routes: an empty name is name_invalid", "[routes]") {
  parse_bad("/v2//manifests/latest", errc::name_invalid);
}

TEST_CASE("routes: a name with an empty component is name_invalid", "[routes]") {
  parse_bad("/v2/a//b/manifests/latest", errc::name_invalid);
}

TEST_CASE("routes: a name with a trailing slash is name_invalid", "[routes]") {
  parse_bad("/v2/a/b//manifests/latest", errc::name_invalid);
}

TEST_CASE("routes: a name with a dot-dot component is name_invalid", "[routes]") {
  parse_bad("/v2/../etc/manifests/latest", errc::name_invalid);
}

TEST_CASE("routes: a name starting with a separator is name_invalid", "[routes]") {
  parse_bad("/v2/-a/manifests/latest", errc::name_invalid);
}

TEST_CASE("routes: a name with a triple underscore is name_invalid", "[routes]") {
  parse_bad("/v2/a___b/manifests/latest", errc::name_invalid);
}

TEST_CASE("routes: a name of 255 characters is allowed", "[routes]") {
  CHECK(parse_ok("/v2/" + std::string(255, 'a') + "/manifests/x").name.size() == 255);
}

TEST_CASE("routes: a name of 256 characters is name_invalid", "[routes]") {
  parse_bad("/v2/" + std::string(256, 'a') + "/manifests/x", errc::name_invalid);
}

TEST_CASE("routes: the name is checked before the digest", "[routes]") {
  parse_bad("/v2/A/blobs/nonsense", errc::name_invalid);
}

TEST_CASE("routes: a percent-encoded name is name_invalid", "[routes]") {
  parse_bad("/v2/library%2Falpine/manifests/3", errc::name_invalid);
}

// ---- ?ns= -------------------------------------------------------------------------

TEST_CASE("routes: ?ns= is decoded", "[routes]") {
  auto r = parse_ok("/v2/a/manifests/3?ns=127.0.0.1%3A5000");
  CHECK(r.ns == "127.0.0.1:5000");
  CHECK(r.tag == "3");
}

TEST_CASE("routes: ?ns= on the base endpoint", "[routes]") {
  auto r = parse_ok("/v2/?ns=docker.io");
  CHECK(r.kind == route_kind::base);
  CHECK(r.ns == "docker.io");
}

TEST_CASE("routes: ?ns= among other parameters", "[routes]") {
  CHECK(parse_ok("/v2/a/blobs/" + sha + "?x=1&ns=ghcr.io&y=2").ns == "ghcr.io");
}

TEST_CASE("routes: a malformed ?ns= stays as sent", "[routes]") {
  CHECK(parse_ok("/v2/a/manifests/3?ns=bad%zz").ns == "bad%zz");
}

TEST_CASE("routes: no ?ns= leaves ns empty", "[routes]") {
  CHECK(parse_ok("/v2/a/manifests/3?other=1").ns.empty());
}

TEST_CASE("routes: the query does not leak into the reference", "[routes]") {
  auto r = parse_ok("/v2/a/blobs/" + sha + "?ns=docker.io");
  REQUIRE(r.digest);
  CHECK(r.digest->str() == sha);
}

TEST_CASE("routes: an empty query is no query", "[routes]") {
  auto r = parse_ok("/v2/a/manifests/3?");
  CHECK(r.tag == "3");
  CHECK(r.ns.empty());
}

// ---- prewarm ----------------------------------------------------------------

TEST_CASE("routes: /v1/prewarm starts a prewarm", "[routes]") {
  CHECK(parse_ok("/v1/prewarm").kind == route_kind::prewarm);
}

TEST_CASE("routes: /v1/prewarm/{id} follows one", "[routes]") {
  const auto r = parse_ok("/v1/prewarm/0123456789abcdef0123456789abcdef");
  CHECK(r.kind == route_kind::prewarm_progress);
  CHECK(r.name == "0123456789abcdef0123456789abcdef");
}

TEST_CASE("routes: a prewarm id that is not 32 hex digits is no route", "[routes]") {
  CHECK(parse_ok("/v1/prewarm/../../etc").kind == route_kind::unknown);
  CHECK(parse_ok("/v1/prewarm/0123456789ABCDEF0123456789abcdef").kind == route_kind::unknown);
  CHECK(parse_ok("/v1/prewarm/").kind == route_kind::unknown);
}
