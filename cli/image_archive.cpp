#include "cli/image_archive.hpp"

#include <nlohmann/json.hpp>
#include <set>

#include "cli/tarball.hpp"
#include "layers/reference.hpp"

namespace rookery::cli {
using nlohmann::json;
namespace {

constexpr std::string_view oci_config_type = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view oci_tar_layer_type = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* ref_name_key = "org.opencontainers.image.ref.name";
constexpr int max_index_depth = 4;
constexpr int max_link_hops = 8;

std::string link_destination(const tar_entry& e) {
  if (e.hard_link) return normalise_tar_path(e.link_target);
  const auto slash = e.path.rfind('/');
  const std::string dir = slash == std::string::npos ? "" : e.path.substr(0, slash + 1);
  return normalise_tar_path(e.link_target.rfind('/', 0) == 0 ? e.link_target : dir + e.link_target);
}

// Hashes one entry; keeps it whole when it looks like a small JSON document.
void scan_entry(tar_reader& reader, const tar_entry& e, tarball_scan& scan, std::size_t& kept) {
  layers::hasher hash;
  std::string document;
  bool keep = e.size <= max_document_bytes;
  std::uint64_t total = 0;
  char buffer[64 * 1024];
  for (std::size_t n; (n = reader.read(buffer, sizeof buffer)) > 0;) {
    hash.update(buffer, n);
    if (total == 0) keep = keep && (buffer[0] == '{' || buffer[0] == '[');
    total += n;
    if (keep) document.append(buffer, n);
  }
  const std::string path = normalise_tar_path(e.path);
  if (keep && total > 0) {
    if ((kept += document.size()) > max_documents_bytes)
      throw import_error(scan.source + ": more than 64 MiB of JSON documents");
    scan.documents[path] = std::move(document);
  }
  scan.files.insert_or_assign(path, tarball_scan::file{hash.finish(), total});
}

// The regular file `path` stands for, following links.
const tarball_scan::file* find_file(const tarball_scan& scan, std::string path) {
  for (int hop = 0; hop <= max_link_hops; ++hop) {
    if (auto f = scan.files.find(path); f != scan.files.end()) return &f->second;
    auto l = scan.links.find(path);
    if (l == scan.links.end()) return nullptr;
    path = l->second;
  }
  return nullptr;
}

std::string resolve(const tarball_scan& scan, const std::string& path) {
  std::string at = normalise_tar_path(path);
  for (int hop = 0; hop <= max_link_hops && !scan.files.count(at); ++hop) {
    auto l = scan.links.find(at);
    if (l == scan.links.end()) break;
    at = l->second;
  }
  return at;
}

// Every blobs/sha256/<hex> file must hash to its name, whether a manifest names it or not.
void check_named_blobs(const tarball_scan& scan) {
  for (const auto& [path, f] : scan.files) {
    if (path.rfind("blobs/", 0) != 0) continue;
    const std::string rest = path.substr(6);
    const auto slash = rest.find('/');
    const auto d =
        slash == std::string::npos
            ? std::nullopt
            : layers::digest::parse(rest.substr(0, slash) + ":" + rest.substr(slash + 1));
    if (!d || d->algorithm() != layers::digest_algorithm::sha256)
      throw import_error(scan.source + ": " + path + " is not named by a sha256 digest");
    if (*d != f.digest)
      throw import_error(scan.source + ": blob " + d->str() +
                         " is corrupted: its content hashes to " + f.digest.str());
  }
}

json parse_document(const tarball_scan& scan, const std::string& path) {
  auto doc = scan.documents.find(path);
  if (doc == scan.documents.end())
    throw import_error(scan.source + ": " + path + " is missing (or over 4 MiB)");
  auto parsed = json::parse(doc->second, nullptr, false);
  if (parsed.is_discarded()) throw import_error(scan.source + ": " + path + " is not JSON");
  return parsed;
}

std::string string_field(const json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return {};
  return object[key].get<std::string>();
}

}  // namespace

std::string normalise_tar_path(std::string_view path) {
  std::vector<std::string> parts;
  std::size_t at = 0;
  while (at <= path.size()) {
    const auto slash = std::min(path.find('/', at), path.size());
    const std::string part(path.substr(at, slash - at));
    at = slash + 1;
    if (part.empty() || part == ".") continue;
    if (part != "..") {
      parts.push_back(part);
    } else if (parts.empty()) {
      return {};
    } else {
      parts.pop_back();
    }
  }
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "/") + p;
  return out;
}

tarball_scan scan_tarball(const std::string& path) {
  tarball_scan scan;
  scan.source = path;
  tar_reader reader(path);
  std::size_t kept = 0;
  while (auto e = reader.next()) {
    if (e->regular) scan_entry(reader, *e, scan, kept);
    if (!e->link_target.empty()) scan.links[normalise_tar_path(e->path)] = link_destination(*e);
  }
  return scan;
}

std::optional<image_name> parse_image_name(std::string_view text) {
  if (const auto slash = text.find('/'); slash != std::string_view::npos) {
    const auto first = text.substr(0, slash);
    if (first.find_first_of(".:") != std::string_view::npos || first == "localhost")
      text.remove_prefix(slash + 1);
  }
  if (text.find('@') != std::string_view::npos) return std::nullopt;
  const auto ref = layers::parse_image_reference(text);
  if (!ref) return std::nullopt;
  const auto colon = text.rfind(':'), slash = text.rfind('/');
  const bool tagged = colon != std::string_view::npos && (slash == text.npos || colon > slash);
  return image_name{ref->repository, tagged ? ref->reference : std::string()};
}

namespace {

// Collects what one OCI manifest (and, for an index, its children) needs into `plan`.
class oci_planner {
 public:
  oci_planner(const tarball_scan& scan, image_plan& plan) : scan_(scan), plan_(plan) {}

  void add_manifest(const layers::descriptor& d, int depth) {
    const std::string path = oci_blob_path(d.digest);
    check_size(d, path, "manifest");
    auto bytes = scan_.documents.find(path);
    if (bytes == scan_.documents.end())
      throw import_error(scan_.source + ": manifest " + d.digest.str() + " is over 4 MiB");
    std::string why;
    const auto m = layers::parse_manifest(bytes->second, d.media_type, &why);
    if (!m) throw import_error(scan_.source + ": manifest " + d.digest.str() + ": " + why);
    if (m->kind == layers::manifest_kind::index && depth >= max_index_depth)
      throw import_error(scan_.source + ": indexes nested too deep at " + d.digest.str());
    for (const auto& child : m->manifests) add_manifest(child, depth + 1);
    for (const auto& blob : m->blobs()) add_blob(blob);
    plan_.manifests.push_back({d.digest, m->media_type, bytes->second});
  }

 private:
  void check_size(const layers::descriptor& d, const std::string& path, const char* what) {
    const auto* f = find_file(scan_, path);
    if (!f) throw import_error(scan_.source + ": " + what + " " + d.digest.str() + " is missing");
    if (f->size != d.size)
      throw import_error(scan_.source + ": " + what + " " + d.digest.str() + " holds " +
                         std::to_string(f->size) + " bytes, its manifest says " +
                         std::to_string(d.size));
  }

  void add_blob(const layers::descriptor& d) {
    const std::string path = oci_blob_path(d.digest);
    check_size(d, path, "blob");
    if (seen_.insert(d.digest.str()).second)
      plan_.blobs.push_back({d.digest, d.size, resolve(scan_, path)});
  }

  const tarball_scan& scan_;
  image_plan& plan_;
  std::set<std::string> seen_;
};

layers::descriptor index_entry(const tarball_scan& scan, const json& entry) {
  const auto d = layers::digest::parse(string_field(entry, "digest"));
  if (!d || !entry.contains("size") || !entry["size"].is_number_unsigned())
    throw import_error(scan.source + ": index.json has an entry without a digest or size");
  return {string_field(entry, "mediaType"), *d, entry["size"].get<std::uint64_t>(), {}};
}

// Fills repository and tags from the operator's name, else from the tarball's.
void name_plan(const tarball_scan& scan, image_plan& plan, const std::optional<image_name>& name,
               const std::vector<std::string>& names_in_tarball) {
  std::optional<image_name> from_tarball;
  for (const auto& text : names_in_tarball) {
    if (text.find(':') == std::string::npos && layers::valid_tag(text)) {
      plan.tags.push_back(text);  // an OCI ref.name that is a tag alone
    } else if (auto n = parse_image_name(text)) {
      if (!from_tarball) from_tarball = n;
      if (n->repository == from_tarball->repository && !n->tag.empty()) plan.tags.push_back(n->tag);
    }
  }
  if (name) {
    plan.repository = name->repository;
    if (!name->tag.empty()) plan.tags = {name->tag};
  } else if (from_tarball) {
    plan.repository = from_tarball->repository;
  } else {
    throw import_error(scan.source + ": the tarball names no repository for image " +
                       plan.top().digest.str() + "; give one with --image REPOSITORY[:TAG]");
  }
}

std::vector<image_plan> plan_oci(const tarball_scan& scan, const std::optional<image_name>& name) {
  if (string_field(parse_document(scan, "oci-layout"), "imageLayoutVersion").empty())
    throw import_error(scan.source + ": oci-layout has no imageLayoutVersion");
  const json index = parse_document(scan, "index.json");
  if (!index.contains("manifests") || !index["manifests"].is_array() || index["manifests"].empty())
    throw import_error(scan.source + ": index.json lists no manifests");
  std::vector<image_plan> plans;
  for (const auto& entry : index["manifests"]) {
    image_plan plan;
    oci_planner(scan, plan).add_manifest(index_entry(scan, entry), 0);
    const std::string ref = string_field(entry.value("annotations", json::object()), ref_name_key);
    name_plan(scan, plan, name, ref.empty() ? std::vector<std::string>{} : std::vector{ref});
    plans.push_back(std::move(plan));
  }
  return plans;
}

// A docker-archive file named in manifest.json, with its digest and size.
blob_in_tarball docker_file(const tarball_scan& scan, const json& path_field) {
  const std::string path = path_field.is_string() ? path_field.get<std::string>() : "";
  const auto* f = path.empty() ? nullptr : find_file(scan, path);
  if (!f) throw import_error(scan.source + ": manifest.json names a missing file '" + path + "'");
  return {f->digest, f->size, resolve(scan, path)};
}

// The config file is named by its digest ("<hex>.json" or blobs/sha256/<hex>): check it.
void check_docker_config(const tarball_scan& scan, const blob_in_tarball& config) {
  const auto slash = config.path.rfind('/');
  std::string stem = config.path.substr(slash == std::string::npos ? 0 : slash + 1);
  if (stem.size() > 5 && stem.substr(stem.size() - 5) == ".json") stem.resize(stem.size() - 5);
  const auto named = layers::digest::from_file_name(stem);
  if (named && *named != config.digest)
    throw import_error(scan.source + ": config " + named->str() +
                       " is corrupted: its content hashes to " + config.digest.str());
}

image_plan plan_docker_image(const tarball_scan& scan, const json& item) {
  if (!item.is_object() || !item.contains("Layers") || !item["Layers"].is_array())
    throw import_error(scan.source + ": manifest.json has an entry without Config or Layers");
  image_plan plan;
  const blob_in_tarball config = docker_file(scan, item.value("Config", json()));
  check_docker_config(scan, config);
  auto doc = scan.documents.find(config.path);
  if (doc == scan.documents.end())
    throw import_error(scan.source + ": config " + config.path + " is not JSON or over 4 MiB");
  const auto diff_ids = config_diff_ids(doc->second, scan.source + ": config " + config.path);
  if (diff_ids.size() != item["Layers"].size())
    throw import_error(scan.source + ": config " + config.path + " lists " +
                       std::to_string(diff_ids.size()) + " diff_ids for " +
                       std::to_string(item["Layers"].size()) + " layers");
  std::vector<blob_in_tarball> layer_blobs;
  for (std::size_t i = 0; i < diff_ids.size(); ++i) {
    layer_blobs.push_back(docker_file(scan, item["Layers"][i]));
    if (layer_blobs.back().digest != diff_ids[i])
      throw import_error(scan.source + ": layer " + diff_ids[i].str() + " (" +
                         layer_blobs.back().path + ") is corrupted: its content hashes to " +
                         layer_blobs.back().digest.str() +
                         " (or it is compressed, which import does not take)");
  }
  const std::string manifest = oci_manifest_for(config, layer_blobs);
  std::set<std::string> seen{config.digest.str()};
  plan.blobs.push_back(config);
  for (const auto& l : layer_blobs)
    if (seen.insert(l.digest.str()).second) plan.blobs.push_back(l);
  plan.manifests.push_back(
      {layers::digest_of(manifest), std::string(layers::media_type::oci_manifest), manifest});
  return plan;
}

std::vector<image_plan> plan_docker(const tarball_scan& scan,
                                    const std::optional<image_name>& name) {
  const json items = parse_document(scan, "manifest.json");
  if (!items.is_array() || items.empty())
    throw import_error(scan.source + ": manifest.json lists no images");
  std::vector<image_plan> plans;
  for (const auto& item : items) {
    image_plan plan = plan_docker_image(scan, item);
    std::vector<std::string> tags;
    for (const auto& t : item.value("RepoTags", json::array()))
      if (t.is_string()) tags.push_back(t.get<std::string>());
    name_plan(scan, plan, name, tags);
    plans.push_back(std::move(plan));
  }
  return plans;
}

}  // namespace

std::vector<image_plan> plan_import(const tarball_scan& scan,
                                    const std::optional<image_name>& name) {
  check_named_blobs(scan);
  std::vector<image_plan> plans;
  if (scan.files.count("oci-layout") && scan.files.count("index.json")) {
    plans = plan_oci(scan, name);
  } else if (scan.files.count("manifest.json")) {
    plans = plan_docker(scan, name);
  } else {
    throw import_error(scan.source +
                       ": neither a docker-archive (manifest.json) nor an OCI image layout "
                       "(oci-layout, index.json)");
  }
  if (name && plans.size() > 1)
    throw import_error(scan.source + ": --image names one image, the tarball holds " +
                       std::to_string(plans.size()));
  return plans;
}

std::string oci_manifest_for(const blob_in_tarball& config,
                             const std::vector<blob_in_tarball>& layer_blobs) {
  json doc = {
      {"schemaVersion", 2},
      {"mediaType", layers::media_type::oci_manifest},
      {"config",
       {{"mediaType", oci_config_type}, {"digest", config.digest.str()}, {"size", config.size}}},
      {"layers", json::array()}};
  for (const auto& l : layer_blobs)
    doc["layers"].push_back(
        {{"mediaType", oci_tar_layer_type}, {"digest", l.digest.str()}, {"size", l.size}});
  return doc.dump();
}

std::vector<layers::digest> config_diff_ids(std::string_view config, const std::string& what) {
  const auto doc = json::parse(config, nullptr, false);
  const json none;
  const json& ids = doc.is_object() && doc.contains("rootfs") && doc["rootfs"].is_object()
                        ? doc["rootfs"].value("diff_ids", none)
                        : none;
  if (!ids.is_array()) throw import_error(what + " has no rootfs.diff_ids");
  std::vector<layers::digest> out;
  for (const auto& id : ids) {
    auto d = layers::digest::parse(id.is_string() ? id.get<std::string>() : "");
    if (!d) throw import_error(what + " has a diff_id that is not a digest");
    out.push_back(*d);
  }
  return out;
}

std::string oci_layout_document() {
  return json{{"imageLayoutVersion", "1.0.0"}}.dump();
}

std::string oci_index_document(const manifest_document& manifest, const std::string& ref_name) {
  json entry = {{"mediaType", manifest.media_type},
                {"digest", manifest.digest.str()},
                {"size", manifest.bytes.size()}};
  if (!ref_name.empty()) entry["annotations"] = {{ref_name_key, ref_name}};
  return json{{"schemaVersion", 2}, {"manifests", json::array({entry})}}.dump();
}

std::string docker_manifest_document(const std::string& config_path,
                                     const std::vector<std::string>& layer_paths,
                                     const std::string& repo_tag) {
  json item = {{"Config", config_path}, {"RepoTags", json::array()}, {"Layers", layer_paths}};
  if (!repo_tag.empty()) item["RepoTags"].push_back(repo_tag);
  return json::array({item}).dump();
}

std::string oci_blob_path(const layers::digest& d) {
  return "blobs/" + std::string(d.algorithm_name()) + "/" + d.hex();
}

}  // namespace rookery::cli
