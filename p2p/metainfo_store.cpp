#include "p2p/metainfo_store.hpp"

#include "layers/small_file.hpp"

namespace rookery::p2p {
namespace fs = std::filesystem;

metainfo_store::metainfo_store(fs::path dir) : dir_(std::move(dir)) {
  fs::create_directories(dir_);
}

fs::path metainfo_store::path_of(const layers::digest& d) const {
  return dir_ / (d.hex() + ".torrent");
}

bool metainfo_store::save(const layers::digest& d, const std::string& metainfo) const {
  return layers::write_file_atomically(path_of(d), metainfo);
}

std::optional<std::string> metainfo_store::load(const layers::digest& d) const {
  auto text = layers::read_small_file(path_of(d));
  if (text && text->empty()) return std::nullopt;
  return text;
}

void metainfo_store::remove(const layers::digest& d) const {
  std::error_code ignored;
  fs::remove(path_of(d), ignored);
}

std::vector<layers::digest> metainfo_store::list() const {
  std::vector<layers::digest> out;
  std::error_code ec;
  for (const auto& item : fs::directory_iterator(dir_, ec)) {
    const auto& path = item.path();
    auto d = path.extension() == ".torrent" ? layers::digest::from_file_name(path.stem().string())
                                            : std::nullopt;
    if (d) {
      out.push_back(*d);
    } else {
      fs::remove(path, ec);
    }
  }
  return out;
}

}  // namespace rookery::p2p
