#pragma once
// The channel config of sigma-supervisor (man sigma-supervisor(5)): an
// INI-like text a sysadmin can read and diff, one [global] section and one
// [channel NAME] section per channel. Errors name the file and line and map
// to exit 100.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/conf.h"
#include "base/status.h"
#include "supervisor/alerts.h"

namespace sigma::supervisor {

// How the supervisor restarts a stage (s6-supervise's policy, made tunable).
struct RestartPolicy {
  int64_t min_spawn_interval_ms = 1000;  // never two spawns of a stage closer than this
  int64_t backoff_initial_ms = 250;
  int64_t backoff_max_ms = 30000;
  int64_t stable_after_ms = 10000;  // ready this long: the backoff starts over
  int death_tally = 5;              // this many deaths...
  int64_t death_window_ms = 60000;  // ...within this window: permanent failure
  int64_t stop_grace_ms = 5000;     // SIGTERM, then SIGKILL after this
};

// Per stage knobs a config may set: "<stage>.args" appended to the command
// the supervisor builds, or "<stage>.command" replacing it entirely.
struct StageOverride {
  std::vector<std::string> extra_args;
  std::vector<std::string> command;  // empty: the built-in command
};

enum class InputKind { kPublish, kPull, kExec };

struct ChannelConfig {
  std::string name;
  int line = 0;  // of the [channel NAME] header, for messages
  // The channel file of channels_dir it comes from (the API's channels);
  // "" for the main config file.
  std::string file;
  bool enabled = true;
  InputKind input_kind = InputKind::kPublish;
  std::string input;                 // pull: URL; exec: the command line
  std::vector<std::string> input_argv;  // exec: split command
  std::string mode = "low";          // normal | low | ultra-low
  std::string ladder = "passthrough";  // passthrough, a preset name, or custom rungs
  std::string preset;                // encoder preset for sigma-transcode ("" = its default)
  std::string output_dir;            // default: <out_root>/<name>
  int64_t dvr_window_s = 0;          // 0: the packager's live window
  // The archive (sigma-dvr, a stage of the channel): on when either is set.
  // Kept as written after validation ("7d", "100G"): sigma-dvr parses them.
  std::string archive;               // retention by age; "" = none
  int64_t archive_s = 0;
  std::string archive_max;           // retention by size; "" = none
  int64_t archive_max_bytes = 0;
  int archive_line = 0;              // of the first archive key, for messages
  // sigma-dvr --min-free as written ("5%", "2G", "off"); "": its default.
  std::string archive_min_free;
  bool archived() const { return !archive.empty() || !archive_max.empty(); }
  bool record = false;
  // Thumbnails (sigma-thumb, a stage of the channel) when yes; the other
  // keys are kept in the forms sigma-thumb reads ("" = its default) and
  // count only while thumbnails = yes.
  bool thumbnails = false;
  std::string thumbnails_every;    // "2s", "500ms"
  std::string thumbnails_widths;   // "320,640"
  std::string thumbnails_sprites;  // "10s"
  // A published channel without a ladder is packaged inside the shared
  // sigma-ingest (no FIFO, no sigma-package process); no: its own process.
  bool package_in_ingest = true;
  std::string events;                // NDJSON file for this channel's events
  // Failover in sigma-ingest (failover_config.h): a backup input (a second
  // stream key, or a pull URL) and a slate; 0 durations: the ingest's.
  std::string backup_key, backup_url;
  std::string slate;  // "" (auto once a backup is set), auto, off, or a file
  int64_t failover_after_ms = 0, failback_after_ms = 0;
  int failover_line = 0;
  bool failover() const { return !backup_key.empty() || !backup_url.empty() || !slate.empty(); }
  // restream.NAME = URL: pushed by the shared sigma-ingest while the
  // channel is live (its RTMP publishes' source), in file order.
  struct RestreamTarget {
    std::string name, url;
    int line = 0;
  };
  std::vector<RestreamTarget> restream;
  // playback = signed: sigma-origin serves it only from signed URLs
  // (sigma-origin(1), SIGNED PLAYBACK); [global] playback_secret needed.
  bool signed_playback = false;
  int playback_line = 0;
  std::map<std::string, StageOverride> stages;  // source, transcode, package, dvr, thumb
};

struct GlobalConfig {
  std::string bin_dir;  // where sigma-* live; empty: beside sigma-supervisor, else PATH
  std::string run_dir = "/run/sigma";
  std::string out_root = "/var/lib/sigma/out";
  std::string health = "127.0.0.1:9980";  // "off" disables
  std::string origin = "127.0.0.1:8080";  // origin listen address; "off": no origin
  std::string access_log;
  std::string rtmp = "127.0.0.1:1935";  // shared ingest; "off" disables RTMP
  std::string srt = "off";
  std::string keys;  // keys file for the shared ingest
  bool open_keys = false;
  std::string record_dir;
  std::string events;
  // The control API (sigma-supervisor(1), CONTROL API): its listen
  // address ("off", the default, or HOST:PORT), its token file (default:
  // api-tokens beside the config file) and the directory of the channel
  // files it writes, NAME.conf each, read after the main file ("": the
  // API cannot create channels).
  std::string api = "off";
  std::string api_tokens;
  std::string channels_dir;
  RestartPolicy restart;
  AlertSettings alerts;
  // sigma-hook's subscription file (sigma-hook(5)): a "hook" stage that
  // follows the events files; its state (SQLite) in hooks_state, by
  // default beside the [global] events file.
  std::string hooks;
  std::string hooks_state;
  int hooks_line = 0;
  // sigma-stats (a shared "stats" stage) when stats = yes: it follows
  // access_log, which must then be a file; its SQLite state by default
  // beside that file, its figures on stats.metrics ("off": none).
  bool stats = false;
  int stats_line = 0;
  std::string stats_metrics = "127.0.0.1:9981";
  std::string stats_state;
  std::string stats_session_timeout;  // "" = sigma-stats's default
  std::string stats_status_file() const { return run_dir + "/stats-status.json"; }
  // The secrets file of signed playback (current secret first, then the
  // previous): passed to sigma-origin, which reads it again on SIGHUP.
  std::string playback_secret;
  int playback_secret_line = 0;
  std::string origin_signed_file() const { return run_dir + "/origin-signed"; }
  std::map<std::string, StageOverride> stages;  // ingest, origin, hook, stats
};

struct Config {
  std::string path;
  GlobalConfig global;
  std::vector<ChannelConfig> channels;  // in file order

  const ChannelConfig* find(const std::string& name) const;
};

// Parses config text; `origin` names it in errors ("supervisor.conf:12: ...").
Result<Config> parse_config(const std::string& text, const std::string& origin);
Result<Config> load_config(const std::string& path);
// The same with some channel files of channels_dir replaced (a text) or
// left out (nullopt) by name, as an API change would leave them: a change
// is checked whole before anything is written.
using ChannelFileOverrides = std::map<std::string, std::optional<std::string>>;
Result<Config> load_config(const std::string& path, const ChannelFileOverrides& overrides);
// <channels_dir>/<name>.conf
std::string channel_file_path(const GlobalConfig& g, const std::string& name);

// The config format's value helpers (parse_duration_ms, parse_size_bytes,
// split_words, shell_quote) live in base/conf.h, shared with sigma-hook.
using sigma::parse_duration_ms;
using sigma::parse_size_bytes;
using sigma::shell_quote;
using sigma::split_words;

}  // namespace sigma::supervisor
