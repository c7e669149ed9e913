#pragma once
// The Range request header (RFC 9110 section 14). One range is served as
// 206; a list of several ranges is answered with the whole file (200), which
// the RFC allows and which no HLS player needs otherwise.
#include <cstdint>
#include <string_view>

namespace sigma::http {

struct ByteRange {
  uint64_t first = 0;
  uint64_t length = 0;
};

enum class RangeKind {
  kWhole,          // no header, a syntax we ignore, or several ranges: 200
  kPartial,        // one satisfiable range: 206
  kUnsatisfiable,  // 416 with Content-Range: bytes */size
};

struct RangeResult {
  RangeKind kind = RangeKind::kWhole;
  ByteRange range;
};

RangeResult parse_range(std::string_view header, uint64_t size);

}  // namespace sigma::http
