#pragma once
#include <string>
#include <string_view>

#include "base/status.h"

namespace sigma {

// Writes content to path.tmp, optionally fsyncs it, then renames it over
// path: a reader sees the old file or the new one, never half of one.
Status write_file_atomic(const std::string& path, std::string_view content, bool sync = false);
// mkdir -p.
Status make_dirs(const std::string& path);
Result<std::string> read_file(const std::string& path);

}  // namespace sigma
