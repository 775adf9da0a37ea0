#include "http/secret.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "tests/unit/temp_dir.hpp"

using rookery::http::secret;

TEST_CASE("secret admits exactly its bearer header", "[secret]") {
  const auto s = secret::of("t0ken");
  CHECK(s.configured());
  CHECK(s.admits("Bearer t0ken"));
  CHECK_FALSE(s.admits("Bearer t0ke"));
  CHECK_FALSE(s.admits("Bearer t0ken2"));
  CHECK_FALSE(s.admits("bearer t0ken"));
  CHECK_FALSE(s.admits("Basic t0ken"));
  CHECK_FALSE(s.admits("t0ken"));
  CHECK_FALSE(s.admits(""));
}

TEST_CASE("an unset secret admits nobody", "[secret]") {
  const secret none;
  CHECK_FALSE(none.configured());
  CHECK_FALSE(none.admits("Bearer "));
  CHECK_FALSE(none.admits(""));
}

TEST_CASE("secret loads the first line of a file, else the environment", "[secret]") {
  const rookery::test::temp_dir dir("secret");
  const auto path = dir.path / "secret";
  std::ofstream(path) << "from-file\nignored\n";
  ::setenv("ROOKERY_TEST_SECRET", "from-env", 1);
  CHECK(secret::load(path.string(), "ROOKERY_TEST_SECRET").admits("Bearer from-file"));
  CHECK(secret::load("", "ROOKERY_TEST_SECRET").admits("Bearer from-env"));
  ::unsetenv("ROOKERY_TEST_SECRET");
  CHECK_FALSE(secret::load("", "ROOKERY_TEST_SECRET").configured());
  std::ofstream(path) << "\n";
  CHECK_THROWS_AS(secret::load(path.string(), nullptr), std::runtime_error);
  std::filesystem::remove(path);
  CHECK_THROWS_AS(secret::load(path.string(), nullptr), std::runtime_error);
}
