#pragma once
#include <string_view>

namespace sigma::http {

// Content-Type for a file name, by extension (case-insensitive). Unknown
// extensions get application/octet-stream so a browser never sniffs them.
std::string_view mime_type_for(std::string_view path);

}  // namespace sigma::http
