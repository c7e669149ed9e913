#pragma once
// RFC 6381 CODECS values, read from the sample entry of an init segment
// (ftyp+moov) as the mp4 muxer wrote it, so the string always matches what
// the player will be given: avc1.PPCCLL, hvc1.P.C.TL.B, mp4a.40.AOT, opus.
#include <string>
#include <string_view>

#include "base/status.h"

namespace sigma::hls {

// Both, video first and comma-separated, for an init with its audio muxed in.
Result<std::string> codec_string_from_init(std::string_view init);

}  // namespace sigma::hls
