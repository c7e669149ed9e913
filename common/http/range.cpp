#include "http/range.h"

#include <charconv>
#include <optional>

namespace sigma::http {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

RangeResult parse_range(std::string_view header, uint64_t size) {
  header = trim(header);
  if (header.empty()) return {};
  constexpr std::string_view kUnit = "bytes=";
  if (header.substr(0, kUnit.size()) != kUnit) return {};  // unknown unit: ignore
  std::string_view spec = trim(header.substr(kUnit.size()));
  if (spec.find(',') != std::string_view::npos) return {};
  auto dash = spec.find('-');
  if (dash == std::string_view::npos) return {};
  std::string_view a = trim(spec.substr(0, dash)), b = trim(spec.substr(dash + 1));
  RangeResult r;
  if (a.empty()) {  // suffix: the last N bytes
    auto n = parse_u64(b);
    if (!n) return {};
    if (*n == 0 || size == 0) return {RangeKind::kUnsatisfiable, {}};
    uint64_t len = *n < size ? *n : size;
    return {RangeKind::kPartial, {size - len, len}};
  }
  auto first = parse_u64(a);
  if (!first) return {};
  std::optional<uint64_t> last;
  if (!b.empty()) {
    last = parse_u64(b);
    if (!last || *last < *first) return {};  // invalid: ignore the header
  }
  if (*first >= size) return {RangeKind::kUnsatisfiable, {}};
  uint64_t end = (last && *last < size - 1) ? *last : size - 1;
  return {RangeKind::kPartial, {*first, end - *first + 1}};
}

}  // namespace sigma::http
