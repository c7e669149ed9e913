#include "http/url.h"

namespace sigma::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<Target> parse_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  auto hash = target.find('#');
  if (hash != std::string_view::npos) target = target.substr(0, hash);
  Target t;
  auto q = target.find('?');
  auto path = percent_decode(target.substr(0, q));
  if (!path) return std::nullopt;
  t.path = std::move(*path);
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    auto amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    auto eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) return std::nullopt;
    t.query[*key] = *value;
  }
  return t;
}

std::optional<std::string> relative_path(std::string_view p) {
  if (p.empty() || p.front() != '/') return std::nullopt;
  std::string out;
  out.reserve(p.size());
  size_t i = 1;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view seg = p.substr(i, j - i);
    if (seg == ".." || seg == ".") return std::nullopt;
    if (seg.find('\0') != std::string_view::npos || seg.find('\\') != std::string_view::npos)
      return std::nullopt;
    if (!seg.empty()) {  // "//" collapses
      if (!out.empty()) out.push_back('/');
      out.append(seg);
    }
    i = j + 1;
  }
  return out;
}

}  // namespace sigma::http
