#include "http/range.hpp"

#include <charconv>

namespace rookery::http {
namespace {

std::optional<std::uint64_t> number(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return value;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

range_result resolve_range(std::string_view header, std::uint64_t size) {
  const range_result unsatisfiable{range_outcome::unsatisfiable, {}};
  header = trim(header);
  if (header.empty()) return {};
  constexpr std::string_view unit = "bytes=";
  if (header.substr(0, unit.size()) != unit) return unsatisfiable;
  const std::string_view spec = trim(header.substr(unit.size()));
  if (spec.find(',') != std::string_view::npos) return {};  // multipart not offered
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return unsatisfiable;
  const auto first_text = trim(spec.substr(0, dash));
  const auto last_text = trim(spec.substr(dash + 1));

  if (first_text.empty()) {  // suffix: the last n bytes
    auto n = number(last_text);
    if (!n || *n == 0 || size == 0) return unsatisfiable;
    const std::uint64_t take = *n < size ? *n : size;
    return {range_outcome::partial, {size - take, size - 1}};
  }
  auto first = number(first_text);
  if (!first || *first >= size) return unsatisfiable;
  std::uint64_t last = size - 1;
  if (!last_text.empty()) {
    auto end = number(last_text);
    if (!end || *end < *first) return unsatisfiable;
    if (*end < last) last = *end;
  }
  return {range_outcome::partial, {*first, last}};
}

}  // namespace rookery::http
