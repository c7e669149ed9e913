#include "origin/gzip.h"

#include <zlib.h>

#include <cctype>
#include <cstdlib>

namespace sigma::origin {

std::optional<std::string> gzip_compress(std::string_view data, int level) {
  z_stream zs{};
  // 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return std::nullopt;
  std::string out;
  out.resize(deflateBound(&zs, static_cast<uLong>(data.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  size_t n = zs.total_out;
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return std::nullopt;
  out.resize(n);
  return out;
}

bool accepts_gzip(std::string_view v) {
  size_t i = 0;
  while (i < v.size()) {
    size_t comma = v.find(',', i);
    std::string_view item = v.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i);
    i = comma == std::string_view::npos ? v.size() : comma + 1;
    while (!item.empty() && std::isspace(static_cast<unsigned char>(item.front()))) item.remove_prefix(1);
    size_t semi = item.find(';');
    std::string_view coding = item.substr(0, semi);
    while (!coding.empty() && std::isspace(static_cast<unsigned char>(coding.back()))) coding.remove_suffix(1);
    std::string lower;
    for (char c : coding) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (lower != "gzip" && lower != "x-gzip" && lower != "*") continue;
    if (semi != std::string_view::npos) {
      std::string_view params = item.substr(semi + 1);
      size_t q = params.find("q=");
      if (q != std::string_view::npos) {
        std::string qs(params.substr(q + 2));
        if (std::strtod(qs.c_str(), nullptr) <= 0) return false;
      }
    }
    return true;
  }
  return false;
}

}  // namespace sigma::origin
