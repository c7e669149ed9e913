#include "http/mime.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <string>
#include <utility>

namespace sigma::http {

std::string_view mime_type_for(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 20> kTypes{{
      {"m3u8", "application/vnd.apple.mpegurl"},
      {"m3u", "application/vnd.apple.mpegurl"},
      {"mp4", "video/mp4"},
      {"m4s", "video/iso.segment"},
      {"m4v", "video/mp4"},
      {"m4a", "audio/mp4"},
      {"cmfv", "video/mp4"},
      {"cmfa", "audio/mp4"},
      {"ts", "video/mp2t"},
      {"aac", "audio/aac"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"png", "image/png"},
      {"vtt", "text/vtt; charset=utf-8"},
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"json", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"svg", "image/svg+xml"},
  }};
  auto slash = path.rfind('/');
  auto dot = path.rfind('.');
  if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
    return "application/octet-stream";
  std::string ext(path.substr(dot + 1));
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  for (const auto& [e, type] : kTypes)
    if (e == ext) return type;
  return "application/octet-stream";
}

}  // namespace sigma::http
