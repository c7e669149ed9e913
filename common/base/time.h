#pragma once
#include <cstdint>
#include <string>

namespace sigma {

// Wall clock, UTC, millisecond precision: 2026-11-24T10:00:00.123Z
std::string iso8601_utc(int64_t unix_ms);
std::string now_iso8601();
int64_t unix_ms_now();
// Monotonic clock for durations and timeouts.
int64_t monotonic_ms();

}  // namespace sigma
