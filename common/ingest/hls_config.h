#pragma once
// Which channels sigma-ingest packages in-process, and how: --hls TEMPLATE
// for every channel ({channel} in the path), and --hls-channel SPEC for one
// channel with its own directory and settings:
//   NAME=DIR[,mode=normal|low|ultra-low][,segment-duration=S][,part-duration=S][,window=N]
// Settings not given come from --mode, --segment-duration, --part-duration
// and --window. A channel under neither goes to --output (MPEG-TS).
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "package/package_params.h"

namespace sigma::ingest {

class HlsConfig {
 public:
  // defaults: mode, durations and window shared by every HLS channel
  // (unresolved: 0/-1 mean the mode's defaults). Usage errors name the
  // option at fault.
  static Result<HlsConfig> make(const std::string& dir_template, const std::vector<std::string>& channel_specs,
                                const package::PackageParams& defaults);

  bool empty() const { return dir_template_.empty() && channels_.empty(); }
  // The channel's resolved parameters, or nullopt when it is not HLS.
  std::optional<package::PackageParams> for_channel(const std::string& name) const;

 private:
  std::string dir_template_;
  package::PackageParams defaults_;
  std::map<std::string, package::PackageParams> channels_;  // resolved
};

}  // namespace sigma::ingest
