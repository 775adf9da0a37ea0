#include "pull/upstream.hpp"

#include <catch2/catch.hpp>

using rookery::pull::basic_authorization;
using rookery::pull::challenge_param;

namespace {

const std::string docker_hub =
    R"(Bearer realm="https://auth.docker.io/token",service="registry.docker.io",)"
    R"(scope="repository:library/alpine:pull")";

}  // namespace

// ---- basic_authorization ----------------------------------------------------

TEST_CASE("basic_authorization encodes user:password", "[upstream]") {
  CHECK(basic_authorization("user", "password") == "Basic dXNlcjpwYXNzd29yZA==");
}

TEST_CASE("basic_authorization matches the RFC 7617 example", "[upstream]") {
  CHECK(basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
}

TEST_CASE("basic_authorization of empty credentials encodes a lone colon", "[upstream]") {
  CHECK(basic_authorization("", "") == "Basic Og==");
}

TEST_CASE("basic_authorization keeps colons in the password", "[upstream]") {
  CHECK(basic_authorization("u", "p:w") == "Basic dTpwOnc=");
}

TEST_CASE("basic_authorization encodes UTF-8 bytes as they are", "[upstream]") {
  CHECK(basic_authorization("\xc3\xbc", "p\xc3\xa4ssword") == "Basic w7w6cMOkc3N3b3Jk");
}

TEST_CASE("basic_authorization does not wrap long credentials", "[upstream]") {
  const auto header = basic_authorization(std::string(50, 'x'), std::string(60, 'y'));
  CHECK(header.find('\n') == std::string::npos);
  CHECK(header.find('\0') == std::string::npos);
  CHECK(header.size() == 6 + 4 * ((50 + 1 + 60 + 2) / 3));
  CHECK(header.substr(header.size() - 4) == "eXl5");
}

// ---- challenge_param --------------------------------------------------------

TEST_CASE("challenge_param reads the realm of a Docker Hub challenge", "[upstream]") {
  CHECK(challenge_param(docker_hub, "realm") == "https://auth.docker.io/token");
}

TEST_CASE("challenge_param reads the service", "[upstream]") {
  CHECK(challenge_param(docker_hub, "service") == "registry.docker.io");
}

TEST_CASE("challenge_param reads a scope with slashes and colons", "[upstream]") {
  CHECK(challenge_param(docker_hub, "scope") == "repository:library/alpine:pull");
}

TEST_CASE("challenge_param keeps commas inside a quoted value", "[upstream]") {
  const std::string c =
      R"(Bearer realm="https://auth",scope="repository:a/b:pull,push",service="reg")";
  CHECK(challenge_param(c, "scope") == "repository:a/b:pull,push");
  CHECK(challenge_param(c, "service") == "reg");
}

TEST_CASE("challenge_param keeps spaces inside a quoted value", "[upstream]") {
  const std::string c = R"(Bearer realm="r",scope="repository:a:pull repository:b:pull")";
  CHECK(challenge_param(c, "scope") == "repository:a:pull repository:b:pull");
}

TEST_CASE("challenge_param accepts a space after the comma", "[upstream]") {
  const std::string c = R"(Bearer realm="https://auth", service="reg", scope="s")";
  CHECK(challenge_param(c, "service") == "reg");
  CHECK(challenge_param(c, "scope") == "s");
}

TEST_CASE("challenge_param is empty for a missing key", "[upstream]") {
  const std::string c = R"(Bearer realm="https://auth",service="reg")";
  CHECK(challenge_param(c, "scope").empty());
}

TEST_CASE("challenge_param does not match a key that ends with the name", "[upstream]") {
  const std::string c = R"(Bearer realm="https://auth",myservice="wrong",service="right")";
  CHECK(challenge_param(c, "service") == "right");
}

TEST_CASE("challenge_param is empty when only a longer key ends with the name", "[upstream]") {
  const std::string c = R"(Bearer realm="https://auth",myservice="wrong")";
  CHECK(challenge_param(c, "service").empty());
}

TEST_CASE("challenge_param does not match the name inside a value", "[upstream]") {
  const std::string c = R"(Bearer realm="https://auth?service=x",service="reg")";
  CHECK(challenge_param(c, "service") == "reg");
}

TEST_CASE("challenge_param is empty for an unterminated quote", "[upstream]") {
  const std::string c = R"(Bearer realm="https://auth)";
  CHECK(challenge_param(c, "realm").empty());
}

TEST_CASE("challenge_param gives an empty quoted value as empty", "[upstream]") {
  const std::string c = R"(Bearer realm="",service="reg")";
  CHECK(challenge_param(c, "realm").empty());
  CHECK(challenge_param(c, "service") == "reg");
}

TEST_CASE("challenge_param reads a parameter that starts the string", "[upstream]") {
  CHECK(challenge_param(R"(realm="r")", "realm") == "r");
}

TEST_CASE("challenge_param reads the error of an insufficient-scope challenge", "[upstream]") {
  const std::string c = docker_hub + R"(,error="insufficient_scope")";
  CHECK(challenge_param(c, "error") == "insufficient_scope");
  CHECK(challenge_param(c, "scope") == "repository:library/alpine:pull");
}

TEST_CASE("challenge_param reads a Basic challenge's realm", "[upstream]") {
  CHECK(challenge_param(R"(Basic realm="Registry Realm")", "realm") == "Registry Realm");
}

TEST_CASE("challenge_param of an empty challenge is empty", "[upstream]") {
  CHECK(challenge_param("", "realm").empty());
}

TEST_CASE("challenge_param skips a name that appears inside a quoted value", "[upstream]") {
  const std::string c = R"(Bearer realm="https://a/x,scope=",scope="repository:x:pull")";
  CHECK(challenge_param(c, "scope") == "repository:x:pull");
}

TEST_CASE("challenge_param matches names without regard to case", "[upstream]") {
  CHECK(challenge_param(R"(Bearer Realm="https://auth")", "realm") == "https://auth");
}

TEST_CASE("challenge_param reads an unquoted token value", "[upstream]") {
  const std::string c = R"(Bearer realm="https://auth",service=registry,scope="a")";
  CHECK(challenge_param(c, "service") == "registry");
  CHECK(challenge_param(c, "scope") == "a");
}
