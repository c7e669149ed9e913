#pragma once
// File names of a channel directory (documented in sigma-package(1), FILES;
// sigma-origin and sigma-dvr rely on them):
//   DIR/master.m3u8
//   DIR/<track>/index.m3u8              track: v0, v1, ... (video), a0, ... (audio)
//   DIR/<track>/init.mp4                init-<msn>.mp4 after a codec change
//   DIR/<track>/<prefix>-<msn>.m4s      segment
//   DIR/<track>/<prefix>-<msn>.<i>.m4s  part i of segment msn (ultra-low)
// Every file appears by rename from "<name>.tmp".
#include <cstdint>
#include <string>

namespace sigma::package {

inline constexpr const char* kMasterName = "master.m3u8";
inline constexpr const char* kPlaylistName = "index.m3u8";

inline std::string segment_name(const std::string& prefix, int64_t msn) {
  return prefix + "-" + std::to_string(msn) + ".m4s";
}
inline std::string part_name(const std::string& prefix, int64_t msn, int index) {
  return prefix + "-" + std::to_string(msn) + "." + std::to_string(index) + ".m4s";
}
inline std::string init_name(int64_t first_msn, bool first) {
  return first ? "init.mp4" : "init-" + std::to_string(first_msn) + ".mp4";
}

}  // namespace sigma::package
