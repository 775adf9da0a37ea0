#include "http/range.hpp"

#include <catch2/catch.hpp>

#include <limits>

using rookery::http::byte_range;
using rookery::http::range_outcome;
using rookery::http::resolve_range;

namespace {

bool partial(std::string_view header, std::uint64_t size, std::uint64_t first,
             std::uint64_t last) {
  const auto r = resolve_range(header, size);
  return r.outcome == range_outcome::partial && r.range == byte_range{first, last};
}

range_outcome outcome(std::string_view header, std::uint64_t size) {
  return resolve_range(header, size).outcome;
}

}  // namespace

TEST_CASE("range: no header means the whole representation", "[range]") {
  CHECK(outcome("", 100) == range_outcome::whole);
}

TEST_CASE("range: a blank header means the whole representation", "[range]") {
  CHECK(outcome("  \t ", 100) == range_outcome::whole);
}

TEST_CASE("range: bytes=0-9 is the first ten bytes", "[range]") {
  const auto r = resolve_range("bytes=0-9", 100);
  REQUIRE(r.outcome == range_outcome::partial);
  CHECK(r.range.first == 0);
  CHECK(r.range.last == 9);
  CHECK(r.range.length() == 10);
}

TEST_CASE("range: a one-byte range", "[range]") {
  const auto r = resolve_range("bytes=5-5", 100);
  REQUIRE(r.outcome == range_outcome::partial);
  CHECK(r.range.length() == 1);
  CHECK(r.range == byte_range{5, 5});
}

TEST_CASE("range: the last byte exactly", "[range]") {
  CHECK(partial("bytes=99-99", 100, 99, 99));
}

TEST_CASE("range: an open range runs to the end", "[range]") {
  CHECK(partial("bytes=10-", 100, 10, 99));
}

TEST_CASE("range: bytes=0- covers everything as a partial", "[range]") {
  CHECK(partial("bytes=0-", 100, 0, 99));
}

TEST_CASE("range: an end past the size is clamped", "[range]") {
  CHECK(partial("bytes=90-1000", 100, 90, 99));
}

TEST_CASE("range: a suffix range is the last n bytes", "[range]") {
  CHECK(partial("bytes=-5", 100, 95, 99));
}

TEST_CASE("range: a suffix longer than the representation is all of it", "[range]") {
  CHECK(partial("bytes=-500", 100, 0, 99));
}

TEST_CASE("range: a suffix of exactly the size is all of it", "[range]") {
  CHECK(partial("bytes=-100", 100, 0, 99));
}

TEST_CASE("range: a zero-length suffix is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=-0", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: a suffix of an empty representation is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=-5", 0) == range_outcome::unsatisfiable);
}

TEST_CASE("range: any start in an empty representation is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=0-", 0) == range_outcome::unsatisfiable);
}

TEST_CASE("range: a start at the size is unsatisfiable (416)", "[range]") {
  CHECK(outcome("bytes=100-", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: a start past the size is unsatisfiable (416)", "[range]") {
  CHECK(outcome("bytes=150-200", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: a reversed range is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=9-0", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: multiple ranges are answered with the whole representation", "[range]") {
  CHECK(outcome("bytes=0-9,20-29", 100) == range_outcome::whole);
}

TEST_CASE("range: multiple ranges with a suffix are answered whole", "[range]") {
  CHECK(outcome("bytes=0-0, -1", 100) == range_outcome::whole);
}

TEST_CASE("range: an unknown unit is unsatisfiable", "[range]") {
  CHECK(outcome("items=0-9", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: the unit is case-sensitive here", "[range]") {
  CHECK(outcome("Bytes=0-9", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: a spec without a dash is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=5", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: a lone dash is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=-", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: nothing after bytes= is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: non-digits in the start are unsatisfiable", "[range]") {
  CHECK(outcome("bytes=a-9", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: non-digits in the end are unsatisfiable", "[range]") {
  CHECK(outcome("bytes=0-9x", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: a signed start is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=+1-9", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: a second dash is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=0-5-9", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: a negative suffix (two dashes) is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=--5", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: surrounding whitespace is tolerated", "[range]") {
  CHECK(partial("  bytes= 1 - 2 \t", 100, 1, 2));
}

TEST_CASE("range: a number too long for 64 bits is unsatisfiable", "[range]") {
  CHECK(outcome("bytes=0-99999999999999999999", 100) == range_outcome::unsatisfiable);
}

TEST_CASE("range: the largest 19-digit end is clamped", "[range]") {
  CHECK(partial("bytes=0-9999999999999999999", 100, 0, 99));
}

TEST_CASE("range: a huge representation keeps 64-bit offsets", "[range]") {
  const std::uint64_t size = 1ull << 40;
  CHECK(partial("bytes=1099511627770-", size, 1099511627770ull, size - 1));
}

TEST_CASE("range: a suffix against a huge representation", "[range]") {
  const std::uint64_t size = std::numeric_limits<std::uint64_t>::max();
  CHECK(partial("bytes=-1", size, size - 1, size - 1));
}
