#pragma once
// The times, durations and sizes that sigma-dvr's options (and the
// origin's catch-up URLs) accept, in one place so that every front end
// reads them alike (sigma-dvr, the origin's catch-up, sigma-thumb, sigma-hook).
//
//   time      2026-12-03T10:00:00Z, 2026-12-03T11:00:00+01:00 (ISO 8601 with Z
//             or an offset; seconds and a fraction optional; a date alone is
//             its midnight UTC), 1796292000 (Unix seconds, a fraction allowed),
//             "now", or relative to now: "-1h", "-90m", "-30s", "-1h30m",
//             "-3600" (a leading '-' and a duration)
//   duration  "3600" (seconds), "90m", "1h30m", "2h", "7d", "1w", "500ms",
//             "1.5h": numbers with units w d h m s ms, added up
//   size      "1000000" (bytes), "100M", "50G", "1T", "512K" (powers of
//             1024, also written KiB MiB GiB TiB), "50GB" (powers of 1000)
#include <cstdint>
#include <string>

#include "base/status.h"

namespace sigma {

// -> Unix ms. Errors are usage errors: "cannot read 'x' as a time (...)".
Result<int64_t> parse_time(const std::string& text, int64_t now_ms);
// -> ms, >= 0.
Result<int64_t> parse_duration(const std::string& text);
// -> bytes, >= 0.
Result<int64_t> parse_size(const std::string& text);

// "1h30m", "45s", "2d3h": the short form parse_duration reads back.
std::string format_duration(int64_t ms);
// "1.5 GiB", "320 KiB", "12 B".
std::string format_size(int64_t bytes);

}  // namespace sigma
