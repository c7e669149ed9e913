#pragma once
// How sigma-ingest routes each channel: packaged in-process into HLS or
// written to --output as MPEG-TS, and where its sessions are recorded.
// --hls TEMPLATE packages every channel ({channel} in the path);
// --hls-channel SPEC, or a line of the --channels file, sets one channel:
//   NAME=DIR[,mode=normal|low|ultra-low][,segment-duration=S][,part-duration=S][,window=N][,audio=A][,keep]
//           [,record=DIR]
//           [,backup=KEY|,backup-url=URL][,slate=auto|off|FILE][,failover-after=MS][,failback-after=MS]
// (the failover keys, failover.h, may go with a channel of --output too).
// A --channels line may leave out =DIR ("NAME,record=DIR"): the channel
// goes to --output and only its recording is set. Settings not given come
// from --mode, --segment-duration, --part-duration, --window and --record.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "ingest/failover.h"
#include "package/package_params.h"

namespace sigma::ingest {

class HlsConfig {
 public:
  // defaults: mode, durations and window shared by every HLS channel
  // (unresolved: 0/-1 mean the mode's defaults). Usage errors name the
  // option at fault.
  static Result<HlsConfig> make(const std::string& dir_template, const std::vector<std::string>& channel_specs,
                                const package::PackageParams& defaults);
  // This config plus the channels of a --channels file (text read from
  // origin; '#' starts a comment). A channel also given by --hls-channel
  // is an error.
  Result<HlsConfig> with_file(const std::string& text, const std::string& origin) const;

  bool empty() const { return dir_template_.empty() && channels_.empty(); }
  // The channel's resolved parameters, or nullopt when it is not HLS.
  std::optional<package::PackageParams> for_channel(const std::string& name) const;
  // Where the channel's sessions are recorded: its record= setting, else
  // fallback (--record; empty: not recorded).
  std::string record_dir(const std::string& name, const std::string& fallback) const;
  // The channel's output (HLS and its settings, or MPEG-TS) as one
  // comparable string: a reload starts the channel over when it changes.
  std::string describe(const std::string& name) const;
  // The channel is named by --hls-channel or a --channels line.
  bool listed(const std::string& name) const { return channels_.count(name) > 0; }
  // The channel's failover settings, when it names a backup or a slate.
  std::optional<FailoverSettings> failover(const std::string& name) const;
  // The channel whose backup publishes with this stream key.
  std::optional<std::string> backup_channel(const std::string& key) const;
  // Channels whose backup is pulled from a URL.
  std::vector<std::string> pulled_backups() const;

 private:
  struct Route {
    std::optional<package::PackageParams> hls;  // resolved
    std::string record_dir;
    std::optional<FailoverSettings> failover;
  };
  Status add(const std::string& spec, const std::string& where, bool dir_required);

  std::string dir_template_;
  package::PackageParams defaults_;
  std::map<std::string, Route> channels_;
};

}  // namespace sigma::ingest
