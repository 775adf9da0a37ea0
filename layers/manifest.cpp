#include "layers/manifest.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace rookery::layers {
namespace {

using json = nlohmann::json;

// Errors here are reported by exception inside the parser only, and turned into a reason
// string at its boundary: nlohmann's accessors throw, and a manifest is small.
struct bad_manifest {
  std::string reason;
};

const json& field(const json& object, const char* name) {
  auto it = object.find(name);
  if (it == object.end()) throw bad_manifest{std::string("missing field '") + name + "'"};
  return *it;
}

std::string string_field(const json& object, const char* name) {
  const json& value = field(object, name);
  if (!value.is_string()) throw bad_manifest{std::string("field '") + name + "' is not a string"};
  return value.get<std::string>();
}

descriptor parse_descriptor(const json& value) {
  if (!value.is_object()) throw bad_manifest{"a descriptor is not an object"};
  std::string why;
  auto d = digest::parse(string_field(value, "digest"), &why);
  if (!d) throw bad_manifest{"descriptor digest: " + why};
  const json& size = field(value, "size");
  if (!size.is_number_unsigned()) throw bad_manifest{"descriptor size is not a whole number"};
  descriptor out{string_field(value, "mediaType"), *d, size.get<std::uint64_t>(), std::nullopt};
  if (auto p = value.find("platform"); p != value.end() && p->is_object()) {
    platform plat{string_field(*p, "os"), string_field(*p, "architecture"), {}};
    if (auto v = p->find("variant"); v != p->end() && v->is_string())
      plat.variant = v->get<std::string>();
    out.platform = std::move(plat);
  }
  return out;
}

std::vector<descriptor> parse_descriptors(const json& doc, const char* name) {
  const json& list = field(doc, name);
  if (!list.is_array()) throw bad_manifest{std::string("field '") + name + "' is not a list"};
  std::vector<descriptor> out;
  out.reserve(list.size());
  for (const auto& entry : list) out.push_back(parse_descriptor(entry));
  return out;
}

}  // namespace

bool is_manifest_media_type(std::string_view type) {
  return type == media_type::oci_manifest || type == media_type::oci_index ||
         type == media_type::docker_manifest || type == media_type::docker_manifest_list;
}

std::vector<descriptor> manifest::blobs() const {
  std::vector<descriptor> out;
  if (config) out.push_back(*config);
  out.insert(out.end(), layers.begin(), layers.end());
  return out;
}

std::optional<manifest> parse_manifest(std::string_view bytes, std::string_view content_type,
                                       std::string* why) {
  auto reject = [&](std::string reason) -> std::optional<manifest> {
    if (why) *why = std::move(reason);
    return std::nullopt;
  };
  if (bytes.size() > max_manifest_bytes) return reject("manifest larger than 4 MiB");
  json doc = json::parse(bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return reject("manifest is not valid JSON");
  if (!doc.is_object()) return reject("manifest is not a JSON object");
  try {
    manifest out;
    if (auto mt = doc.find("mediaType"); mt != doc.end() && mt->is_string()) {
      out.media_type = mt->get<std::string>();
    } else if (is_manifest_media_type(content_type)) {
      out.media_type = std::string(content_type);
    } else if (doc.contains("manifests")) {
      out.media_type = std::string(media_type::oci_index);
    } else {
      out.media_type = std::string(media_type::oci_manifest);
    }
    if (!is_manifest_media_type(out.media_type)) {
      return reject("unsupported manifest media type '" + out.media_type.substr(0, 128) + "'");
    }
    if (auto v = doc.find("schemaVersion"); v == doc.end() || *v != 2) {
      return reject("schemaVersion must be 2");
    }
    if (out.media_type == media_type::oci_index ||
        out.media_type == media_type::docker_manifest_list) {
      out.kind = manifest_kind::index;
      out.manifests = parse_descriptors(doc, "manifests");
    } else {
      out.kind = manifest_kind::image;
      out.config = parse_descriptor(field(doc, "config"));
      out.layers = parse_descriptors(doc, "layers");
    }
    return out;
  } catch (const bad_manifest& e) {
    return reject(e.reason);
  }
}

const descriptor* select_platform(const manifest& index, const platform& want) {
  for (const auto& entry : index.manifests) {
    if (!entry.platform) continue;
    const auto& p = *entry.platform;
    if (p.os != want.os || p.architecture != want.architecture) continue;
    if (!want.variant.empty() && p.variant != want.variant) continue;
    return &entry;
  }
  return nullptr;
}

std::optional<platform> parse_platform(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const auto slash = text.find('/', start);
    parts.emplace_back(text.substr(start, slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3) return std::nullopt;
  for (const auto& part : parts) {
    const bool word =
        !part.empty() && part.size() <= 64 && std::all_of(part.begin(), part.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
                 c == '-';
        });
    if (!word) return std::nullopt;
  }
  return platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : std::string()};
}

std::string to_string(const platform& p) {
  return p.os + "/" + p.architecture + (p.variant.empty() ? "" : "/" + p.variant);
}

platform host_platform() {
#if defined(__x86_64__)
  return {"linux", "amd64", ""};
#elif defined(__aarch64__)
  return {"linux", "arm64", "v8"};
#else
  return {"linux", "unknown", ""};
#endif
}

}  // namespace rookery::layers
