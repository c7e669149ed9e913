#pragma once
// gzip (RFC 1952) for playlists: a long DVR window's playlist is mostly
// repeated EXTINF lines and segment names, which compress about tenfold.
#include <optional>
#include <string>
#include <string_view>

namespace sigma::origin {

// The gzip form of data (zlib; level 6 by default); nullopt if zlib fails.
std::optional<std::string> gzip_compress(std::string_view data, int level = 6);

// Whether an Accept-Encoding header value accepts gzip (a q=0 refuses it).
bool accepts_gzip(std::string_view accept_encoding);

// Playlists smaller than this go out as they are: the saving would not
// pay for the header and the client's inflate.
inline constexpr size_t kGzipMinBytes = 1024;

}  // namespace sigma::origin
