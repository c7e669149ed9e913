#pragma once
// In-band parameter sets of H.264/HEVC keyframes (Annex B), to notice a
// codec parameter change in the middle of one input (an encoder restarted
// behind a relay) and to build the new init segment from them.
#include <cstdint>
#include <string>

#include "av/av.h"

namespace sigma::package {

// SPS/PPS (H.264) or VPS/SPS/PPS (HEVC) NAL units before the first slice,
// each with a 4-byte start code; empty when the packet carries none.
std::string extract_param_sets(AVCodecID codec, const uint8_t* data, size_t size);

// Width and height from the parameter sets of a keyframe or an H.264
// sequence header (libavcodec parser);
// false when they cannot be read.
bool probe_dimensions(AVCodecID codec, const uint8_t* data, size_t size, int& width, int& height);

}  // namespace sigma::package
