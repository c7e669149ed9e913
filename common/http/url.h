#pragma once
// Request targets: percent-decoding, the query string, and the one check
// that keeps a request inside the served root (no "..", no NUL, no
// backslash tricks). Symlinks are the file layer's business (see
// origin/file_store.h), since only the file system knows them.
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace sigma::http {

std::optional<std::string> percent_decode(std::string_view s, bool plus_is_space = false);

struct Target {
  std::string path;                          // decoded, starts with '/'
  std::map<std::string, std::string> query;  // decoded; last value wins
};

// "/a/b.m3u8?_HLS_msn=3" -> {"/a/b.m3u8", {{"_HLS_msn","3"}}}. nullopt for
// a target that is not origin-form or does not decode.
std::optional<Target> parse_target(std::string_view target);

// "/demo/v0/index.m3u8" -> "demo/v0/index.m3u8"; "/" -> "". nullopt when
// a segment is "..", ".", contains a NUL or a backslash: a request that
// tries to leave the root is refused rather than normalized.
std::optional<std::string> relative_path(std::string_view decoded_path);

}  // namespace sigma::http
