#include "layers/reference.hpp"

#include "layers/digest.hpp"

namespace rookery::layers {
namespace {

bool alnum_lower(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool valid_component(std::string_view c) {
  std::size_t i = 0;
  auto run = [&] {
    const std::size_t start = i;
    while (i < c.size() && alnum_lower(c[i])) ++i;
    return i > start;
  };
  if (!run()) return false;
  while (i < c.size()) {
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < c.size() && c[i] == '_') ++i;
    } else if (c[i] == '-') {
      while (i < c.size() && c[i] == '-') ++i;
    } else {
      return false;
    }
    if (!run()) return false;
  }
  return true;
}

}  // namespace

bool valid_repository_name(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  while (true) {
    const auto slash = name.find('/');
    if (!valid_component(name.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    name.remove_prefix(slash + 1);
  }
}

bool valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  for (std::size_t i = 0; i < tag.size(); ++i) {
    const char c = tag[i];
    const bool word =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    if (!word && (i == 0 || (c != '.' && c != '-'))) return false;
  }
  return true;
}

std::optional<image_reference> parse_image_reference(std::string_view text) {
  image_reference out{std::string(text), "latest"};
  if (const auto at = text.find('@'); at != std::string_view::npos) {
    out.repository = text.substr(0, at);
    out.reference = text.substr(at + 1);
    if (!digest::parse(out.reference)) return std::nullopt;
  } else if (const auto colon = text.rfind(':');
             colon != std::string_view::npos && text.find('/', colon) == std::string_view::npos) {
    out.repository = text.substr(0, colon);
    out.reference = text.substr(colon + 1);
    if (!valid_tag(out.reference)) return std::nullopt;
  }
  if (!valid_repository_name(out.repository)) return std::nullopt;
  return out;
}

}  // namespace rookery::layers
