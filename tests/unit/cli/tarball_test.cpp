#include "cli/tarball.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>

using namespace rookery::cli;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path =
      fs::temp_directory_path() / ("rookery-tarball-test-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  temp_dir() { fs::create_directories(path); }
  ~temp_dir() { fs::remove_all(path); }
  std::string file(const char* name) const { return (path / name).string(); }
};

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Every regular entry of a tarball, read in small pieces.
std::map<std::string, std::string> read_all(const std::string& path) {
  std::map<std::string, std::string> out;
  tar_reader reader(path);
  while (auto e = reader.next()) {
    std::string data;
    char buffer[1000];
    for (std::size_t n; (n = reader.read(buffer, sizeof buffer)) > 0;) data.append(buffer, n);
    CHECK(data.size() == e->size);
    if (e->regular) out[e->path] = data;
  }
  return out;
}

std::string pattern(std::size_t size) {
  std::string s(size, '\0');
  for (std::size_t i = 0; i < size; ++i) s[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  return s;
}

void write_sample(const std::string& path, bool gzip, const std::string& big) {
  tar_writer w(path, gzip);
  w.add_file("manifest.json", "[{}]");
  w.begin_file("blobs/sha256/big", big.size());
  for (std::size_t at = 0; at < big.size(); at += 65536)
    w.write(big.data() + at, std::min<std::size_t>(65536, big.size() - at));
  w.add_file("empty", "");
  w.close();
}

}  // namespace

TEST_CASE("tar_writer and tar_reader: entries come back as written", "[cli][tarball]") {
  temp_dir dir;
  const std::string big = pattern(3 * 1024 * 1024 + 17);
  write_sample(dir.file("a.tar"), false, big);
  const auto entries = read_all(dir.file("a.tar"));
  REQUIRE(entries.size() == 3);
  CHECK(entries.at("manifest.json") == "[{}]");
  CHECK(entries.at("blobs/sha256/big") == big);
  CHECK(entries.at("empty").empty());
}

TEST_CASE("tar_writer: gzip output is gzip, and the reader reads it", "[cli][tarball]") {
  temp_dir dir;
  const std::string big = pattern(200000);
  write_sample(dir.file("a.tar.gz"), true, big);
  const std::string raw = file_bytes(dir.file("a.tar.gz"));
  REQUIRE(raw.size() > 2);
  CHECK(static_cast<unsigned char>(raw[0]) == 0x1f);
  CHECK(static_cast<unsigned char>(raw[1]) == 0x8b);
  CHECK(read_all(dir.file("a.tar.gz")).at("blobs/sha256/big") == big);
}

TEST_CASE("tar_reader: a file that is no tarball is refused, naming it", "[cli][tarball]") {
  temp_dir dir;
  std::ofstream(dir.file("junk")) << "this is not a tar file at all";
  try {
    tar_reader reader(dir.file("junk"));
    while (reader.next()) {
    }
    FAIL("no error");
  } catch (const tarball_error& e) {
    CHECK(std::string(e.what()).find(dir.file("junk")) != std::string::npos);
  }
}

TEST_CASE("tar_reader: a tarball cut short fails while reading, never ends quietly",
          "[cli][tarball]") {
  temp_dir dir;
  write_sample(dir.file("a.tar"), false, pattern(100000));
  fs::resize_file(dir.file("a.tar"), 50000);
  CHECK_THROWS_AS(read_all(dir.file("a.tar")), tarball_error);
}

TEST_CASE("tar_reader: a missing file is refused", "[cli][tarball]") {
  CHECK_THROWS_AS(tar_reader("/nonexistent/rookery.tar"), tarball_error);
}

TEST_CASE("tar_writer: an unclosed writer leaves no tarball", "[cli][tarball]") {
  temp_dir dir;
  {
    tar_writer w(dir.file("a.tar"), false);
    w.begin_file("half", 1000);
    w.write("abc", 3);
  }
  CHECK_FALSE(std::filesystem::exists(dir.file("a.tar")));
  CHECK_THROWS_AS(read_all(dir.file("a.tar")), tarball_error);
}

TEST_CASE("decompressing_reader: gzip comes out as the original bytes", "[cli][tarball]") {
  temp_dir dir;
  const std::string big = pattern(150000);
  write_sample(dir.file("plain.tar"), false, big);
  write_sample(dir.file("packed.tar.gz"), true, big);
  decompressing_reader in(dir.file("packed.tar.gz"));
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = in.read(buffer, sizeof buffer)) > 0;) out.append(buffer, n);
  CHECK(out == file_bytes(dir.file("plain.tar")));
}

TEST_CASE("decompressing_reader: an uncompressed file comes out as it is", "[cli][tarball]") {
  temp_dir dir;
  const std::string bytes = pattern(70000);
  std::ofstream(dir.file("raw"), std::ios::binary) << bytes;
  decompressing_reader in(dir.file("raw"));
  std::string out;
  char buffer[4096];
  for (std::size_t n; (n = in.read(buffer, sizeof buffer)) > 0;) out.append(buffer, n);
  CHECK(out == bytes);
}

TEST_CASE("wants_gzip: by the file's ending", "[cli][tarball]") {
  CHECK(wants_gzip("image.tar.gz"));
  CHECK(wants_gzip("image.tgz"));
  CHECK_FALSE(wants_gzip("image.tar"));
  CHECK_FALSE(wants_gzip("gz"));
}
