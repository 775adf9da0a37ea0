#include "cli/credentials.hpp"

#include <catch2/catch.hpp>

#include <sstream>

#include "pull/upstream.hpp"

using rookery::cli::login_flags;
using rookery::cli::registry_authorization;

TEST_CASE("registry_authorization takes --creds USER:PASSWORD", "[credentials]") {
  std::istringstream in;
  CHECK(registry_authorization({"alice:s3cret", "", false}, in) ==
        rookery::pull::basic_authorization("alice", "s3cret"));
}

TEST_CASE("registry_authorization reads the password's first line from stdin", "[credentials]") {
  std::istringstream in("s3cret\r\nnext line\n");
  CHECK(registry_authorization({"", "alice", true}, in) ==
        rookery::pull::basic_authorization("alice", "s3cret"));
}

TEST_CASE("registry_authorization is empty without credentials", "[credentials]") {
  std::istringstream in;
  CHECK(registry_authorization({}, in).empty());
}

TEST_CASE("registry_authorization refuses flags that do not fit together", "[credentials]") {
  std::istringstream in("pw\n");
  CHECK_THROWS_WITH(registry_authorization({"", "alice", false}, in),
                    "--username and --password-stdin go together");
  CHECK_THROWS_WITH(registry_authorization({"", "", true}, in),
                    "--username and --password-stdin go together");
  CHECK_THROWS_WITH(registry_authorization({"a:b", "alice", true}, in),
                    "--creds and --username/--password-stdin exclude each other");
  CHECK_THROWS_WITH(registry_authorization({"nocolon", "", false}, in),
                    "--creds must be USER:PASSWORD");
}

TEST_CASE("registry_authorization refuses an empty password on stdin", "[credentials]") {
  std::istringstream in("\n");
  CHECK_THROWS_WITH(registry_authorization({"", "alice", true}, in),
                    "--password-stdin: no password on stdin");
}

TEST_CASE("check_login checks the flags without reading a password", "[credentials]") {
  CHECK(rookery::cli::check_login({"", "alice", true}).empty());
  CHECK_THROWS_WITH(rookery::cli::check_login({"", "alice", false}),
                    "--username and --password-stdin go together");
}
