#include "cli/export.hpp"

#include <boost/asio/co_spawn.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "cli/image_archive.hpp"
#include "cli/progress.hpp"
#include "cli/registry_client.hpp"
#include "cli/tarball.hpp"
#include "layers/reference.hpp"

namespace rookery::cli {
namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace {

constexpr std::size_t copy_buffer_bytes = 256 * 1024;

class export_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

using byte_sink = std::function<void(const char* data, std::size_t size)>;

// FILE.part and a scratch directory beside FILE: renamed into place by commit(), else removed.
class partial_output {
 public:
  explicit partial_output(const std::string& file)
      : file_(file), part_(file + ".part"), scratch_(file + ".part.d") {}
  ~partial_output() {
    std::error_code ignored;
    fs::remove_all(scratch_, ignored);
    if (!committed_) fs::remove(part_, ignored);
  }
  const fs::path& part() const { return part_; }
  const fs::path& scratch() {
    fs::create_directories(scratch_);
    return scratch_;
  }
  void commit() {
    fs::rename(part_, file_);
    committed_ = true;
  }

 private:
  fs::path file_, part_, scratch_;
  bool committed_ = false;
};

struct resolved_image {
  std::string repository, reference;
  std::optional<manifest_document> manifest;
  layers::manifest parsed;
};

layers::manifest parse_or_throw(const manifest_document& doc, const std::string& what) {
  std::string why;
  auto m = layers::parse_manifest(doc.bytes, doc.media_type, &why);
  if (!m) throw export_error(what + ": " + why);
  return *m;
}

// The image manifest to export: the one named, or the index entry for the platform.
asio::awaitable<resolved_image> resolve_image(registry_client& client, const export_options& opts) {
  const auto ref = layers::parse_image_reference(opts.image);
  if (!ref) throw export_error(opts.image + " is not repository[:tag] or repository@digest");
  resolved_image out{ref->repository, ref->reference, {}, {}};
  std::string why = co_await client.get_manifest(out.repository, out.reference, out.manifest);
  if (!why.empty()) throw export_error(opts.image + ": " + why);
  out.parsed = parse_or_throw(*out.manifest, opts.image);
  if (out.parsed.kind == layers::manifest_kind::index) {
    const layers::platform want = opts.platform.value_or(layers::host_platform());
    const auto* entry = layers::select_platform(out.parsed, want);
    if (!entry) throw export_error(opts.image + " has no image for " + layers::to_string(want));
    const std::string child = entry->digest.str();
    why = co_await client.get_manifest(out.repository, child, out.manifest);
    if (!why.empty()) throw export_error(opts.image + " " + child + ": " + why);
    out.parsed = parse_or_throw(*out.manifest, child);
    if (out.parsed.kind != layers::manifest_kind::image)
      throw export_error(child + " is an index inside an index");
  }
  out.manifest->media_type = out.parsed.media_type;
  co_return out;
}

// Streams one blob into `sink`, checking its size and digest on the way.
asio::awaitable<void> copy_blob(registry_client& client, const std::string& repository,
                                const layers::descriptor& d, const byte_sink& sink) {
  std::string why;
  auto res = co_await client.get_blob(repository, d.digest, why);
  if (!res) throw export_error(why);
  layers::hasher hash(d.digest.algorithm());
  std::uint64_t got = 0;
  std::vector<char> buffer(copy_buffer_bytes);
  while (!res->done()) {
    std::error_code ec;
    const std::size_t n = co_await res->read_some(buffer.data(), buffer.size(), ec);
    if (ec) throw export_error(d.digest.str() + ": the download broke off (" + ec.message() + ")");
    if ((got += n) > d.size) throw export_error(d.digest.str() + ": longer than its manifest says");
    hash.update(buffer.data(), n);
    sink(buffer.data(), n);
  }
  if (got != d.size || hash.finish() != d.digest)
    throw export_error(d.digest.str() + ": the content from " + client.registry().name +
                       " does not match its digest");
}

asio::awaitable<void> write_oci(registry_client& client, const resolved_image& image,
                                tar_writer& out, const std::string& ref_name) {
  out.add_file("oci-layout", oci_layout_document());
  std::set<std::string> written;
  const byte_sink into_tar = [&out](const char* data, std::size_t n) { out.write(data, n); };
  for (const auto& blob : image.parsed.blobs()) {
    if (!written.insert(blob.digest.str()).second) continue;
    out.begin_file(oci_blob_path(blob.digest), blob.size);
    co_await copy_blob(client, image.repository, blob, into_tar);
  }
  out.add_file(oci_blob_path(image.manifest->digest), image.manifest->bytes);
  out.add_file("index.json", oci_index_document(*image.manifest, ref_name));
}

bool uncompressed_tar(std::string_view media_type) {
  return media_type.find('+') == std::string_view::npos && media_type.size() >= 3 &&
         media_type.substr(media_type.size() - 3) == "tar";
}

// A compressed layer, downloaded to `compressed`: its uncompressed bytes go into the tarball
// (docker-archive layers are plain tars) once they matched the config's diff_id.
void add_uncompressed(tar_writer& out, const fs::path& compressed, const layers::digest& diff_id,
                      const fs::path& plain) {
  decompressing_reader in(compressed.string());
  std::ofstream file(plain, std::ios::binary);
  layers::hasher hash;
  std::uint64_t size = 0;
  std::vector<char> buffer(copy_buffer_bytes);
  for (std::size_t n; (n = in.read(buffer.data(), buffer.size())) > 0; size += n) {
    hash.update(buffer.data(), n);
    file.write(buffer.data(), static_cast<std::streamsize>(n));
  }
  file.close();
  if (!file) throw export_error("cannot write " + plain.string());
  if (const auto got = hash.finish(); got != diff_id)
    throw export_error("a layer uncompresses to " + got.str() + ", the config says " +
                       diff_id.str());
  out.begin_file(diff_id.hex() + ".tar", size);
  std::ifstream back(plain, std::ios::binary);
  for (std::uint64_t left = size; left > 0;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(left, buffer.size()));
    if (!back.read(buffer.data(), static_cast<std::streamsize>(n)))
      throw export_error("cannot read " + plain.string());
    out.write(buffer.data(), n);
    left -= n;
  }
}

// One layer of a docker-archive: streamed as it is when uncompressed, else through a scratch
// file and decompressed.
asio::awaitable<void> write_docker_layer(registry_client& client, const resolved_image& image,
                                         const layers::descriptor& layer,
                                         const layers::digest& diff_id, tar_writer& out,
                                         partial_output& scratch) {
  if (uncompressed_tar(layer.media_type)) {
    if (layer.digest != diff_id)
      throw export_error("layer " + layer.digest.str() + " is not the config's " + diff_id.str());
    out.begin_file(diff_id.hex() + ".tar", layer.size);
    const byte_sink into_tar = [&out](const char* data, std::size_t n) { out.write(data, n); };
    co_await copy_blob(client, image.repository, layer, into_tar);
    co_return;
  }
  const fs::path compressed = scratch.scratch() / "layer", plain = scratch.scratch() / "layer.tar";
  {
    std::ofstream file(compressed, std::ios::binary | std::ios::trunc);
    const byte_sink into_file = [&file](const char* data, std::size_t n) {
      file.write(data, static_cast<std::streamsize>(n));
    };
    co_await copy_blob(client, image.repository, layer, into_file);
    if (!file.flush()) throw export_error("cannot write " + compressed.string());
  }
  add_uncompressed(out, compressed, diff_id, plain);
  fs::remove(compressed);
  fs::remove(plain);
}

asio::awaitable<void> write_docker(registry_client& client, const resolved_image& image,
                                   tar_writer& out, partial_output& scratch,
                                   const std::string& repo_tag) {
  const layers::descriptor& config = *image.parsed.config;
  if (config.size > layers::max_manifest_bytes)
    throw export_error("config " + config.digest.str() + " is over 4 MiB");
  std::string config_bytes;
  const byte_sink into_string = [&config_bytes](const char* data, std::size_t n) {
    config_bytes.append(data, n);
  };
  co_await copy_blob(client, image.repository, config, into_string);
  const auto diff_ids = config_diff_ids(config_bytes, "config " + config.digest.str());
  if (diff_ids.size() != image.parsed.layers.size())
    throw export_error("config " + config.digest.str() + " does not list one diff_id a layer");
  std::vector<std::string> layer_paths;
  std::set<std::string> written;
  for (std::size_t i = 0; i < diff_ids.size(); ++i) {
    layer_paths.push_back(diff_ids[i].hex() + ".tar");
    if (!written.insert(diff_ids[i].str()).second) continue;
    co_await write_docker_layer(client, image, image.parsed.layers[i], diff_ids[i], out, scratch);
  }
  const std::string config_path = config.digest.hex() + ".json";
  out.add_file(config_path, config_bytes);
  out.add_file("manifest.json", docker_manifest_document(config_path, layer_paths, repo_tag));
}

asio::awaitable<void> export_image(registry_client& client, const export_options& opts,
                                   partial_output& output) {
  const resolved_image image = co_await resolve_image(client, opts);
  if (!image.parsed.config) throw export_error(opts.image + ": the manifest has no config");
  const std::string repo_tag = docker_repo_tag(image.repository, image.reference);
  tar_writer out(output.part().string(), wants_gzip(opts.file));
  if (opts.format == archive_format::oci) {
    co_await write_oci(client, image, out, repo_tag);
  } else {
    co_await write_docker(client, image, out, output, repo_tag);
  }
  out.close();
  std::uint64_t bytes = 0;
  for (const auto& b : image.parsed.blobs()) bytes += b.size;
  std::cout << opts.file << ": " << opts.image << " (" << image.manifest->digest.str() << "), "
            << image.parsed.blobs().size() << " blobs, " << human_bytes(bytes) << "\n";
}

}  // namespace

std::string docker_repo_tag(const std::string& repository, const std::string& reference) {
  if (layers::digest::parse(reference)) return {};
  return repository + ":" + reference;
}

int run_export(const export_options& opts) {
  try {
    partial_output output(opts.file);
    asio::io_context io(1);
    registry_client client(io, opts.source, opts.username, opts.password);
    std::exception_ptr failure;
    asio::co_spawn(io, export_image(client, opts, output),
                   [&failure](std::exception_ptr e) { failure = e; });
    io.run();
    if (failure) std::rethrow_exception(failure);
    output.commit();
  } catch (const std::exception& e) {  // export_error, tarball_error, filesystem_error
    std::cerr << "rookery: export of " << opts.image << " failed: " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace rookery::cli
