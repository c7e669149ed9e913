#pragma once
// The pieces every sigma-origin answer is made of: its base headers (CORS,
// Server), plain-text errors, and the Cache-Control values of live HLS.
#include <boost/beast/http/status.hpp>
#include <string>
#include <string_view>

#include "http/body.h"

namespace sigma::origin {

// Parts, segments and init sections never change once renamed into place.
inline constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
inline constexpr std::string_view kNoCache = "no-cache";
// Thumbnails and their WebVTT index are rewritten in place by name.
inline constexpr std::string_view kShort = "public, max-age=5";

inline bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Status line, Server and the CORS headers players need.
http::Response base_response(boost::beast::http::status status);
// A short plain-text answer (errors), never cached.
http::Response text_response(boost::beast::http::status status, std::string text, bool head);

}  // namespace sigma::origin
