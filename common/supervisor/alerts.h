#pragma once
// The supervisor's alerts (sigma-supervisor(5), ALERTS): conditions in,
// alert.* events out, open alerts listed. Pure: time is passed in, facts
// about stages and channels are handed over by the supervisor, the disk is
// read through a function the tests replace, so it is unit-tested whole.
//
// An alert is one (name, key) pair: "input_lost" about "news". It fires once
// when its condition has held for fire_after, and resolves once when the
// condition has been clear for the hold time: a condition that flaps within
// the hold does not make a storm of events. Events follow the convention
// shared with sigma-hook: type alert.NAME, fields alert, state
// (firing|resolved), severity (warning|critical), key, summary, and on the
// resolved one since (when it fired).
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace sigma::supervisor {

struct AlertSettings {
  bool enabled = true;                   // alerts = yes|no
  int64_t hold_ms = 10'000;              // alert_hold: clear this long before resolved
  int64_t input_lost_after_ms = 10'000;  // input_lost_after
  int64_t output_stale_after_ms = 0;     // output_stale_after; 0: 3 target durations (at least 10 s)
  // disk_low: free space under this many bytes, or under this percent.
  int64_t disk_low_bytes = 0;
  double disk_low_percent = 5.0;         // used when disk_low_bytes is 0; 0 and 0: off
  int64_t disk_check_every_ms = 5'000;   // disk_check_every
  int restarts_max = 5;                  // restarts_too_frequent = N in WINDOW; 0: off
  int64_t restarts_window_ms = 15 * 60'000;
};

// Reads `[global] alerts`, alert_hold, ... into s; false when key is not an
// alert key. Errors are the value's (the caller adds FILE:LINE).
Result<bool> alert_key(AlertSettings& s, const std::string& key, const std::string& value);

struct Now {
  int64_t mono_ms = 0;  // for durations
  int64_t unix_ms = 0;  // for the events' times
};

struct OpenAlert {
  std::string alert, key, channel, severity, summary;
  int64_t since_unix_ms = 0;
  bool external = false;  // reported by a stage (sigma-hook's webhook_failed)
};

// alert.* events go out through this (the supervisor's emit).
using AlertSink = std::function<void(const std::string& type, const std::string& channel, nlohmann::json fields)>;

// The hysteresis: one entry per (alert, key).
class AlertEngine {
 public:
  explicit AlertEngine(AlertSink sink) : sink_(std::move(sink)) {}
  void set_hold(int64_t hold_ms) { hold_ms_ = hold_ms; }

  struct Condition {
    std::string alert, key, channel;
    std::string severity = "warning";
    std::string summary;         // why, for a person, as of now
    int64_t fire_after_ms = 0;   // true this long before firing
  };
  // The condition's truth now. Call it for every condition on every round.
  void observe(const Condition& c, bool active, Now now);
  // Resolves at once (no hold) the alerts for which `keep` says false: a
  // removed channel or stage. `reason` goes in the resolved event.
  void resolve_unless(const std::function<bool(const std::string& alert, const std::string& key)>& keep, Now now,
                      const std::string& reason);
  // An alert.* event a stage wrote (already in the events file): tracked as
  // open until its resolved one.
  void external(const nlohmann::json& event, Now now);
  // Drops the external alerts of one origin (a stage that went away).
  void clear_external();

  std::vector<OpenAlert> open() const;  // by the time they fired

 private:
  struct Entry {
    Condition cond;
    int64_t active_since = -1;  // mono; -1: clear
    int64_t clear_since = -1;   // mono, while firing
    bool firing = false;
    int64_t fired_unix_ms = 0;
  };
  void fire(Entry& e, Now now);
  void resolve(Entry& e, Now now, const std::string& reason);

  AlertSink sink_;
  int64_t hold_ms_ = 10'000;
  std::map<std::pair<std::string, std::string>, Entry> entries_;
  std::map<std::pair<std::string, std::string>, OpenAlert> external_;
};

// What the supervisor knows of a stage, handed over every round.
struct StageFacts {
  std::string id, channel;
  bool failed = false;  // the death tally, or a usage exit
  bool up = false;
  std::string failure;
};

// ... and of a channel.
struct ChannelFacts {
  std::string name;
  bool watch_input = false;   // publish or pull input (not exec)
  bool input_expected = false;  // pull: from the start; publish: once a publisher came
  bool input_stage_up = false;  // the stage that carries the input (ingest, source) is up
  double target_duration_s = 6;
};

struct DiskUsage {
  int64_t free_bytes = 0, total_bytes = 0;
  uint64_t device = 0;  // to list each filesystem once
};
using DiskProbe = std::function<Result<DiskUsage>(const std::string& path)>;
// statvfs(2) and stat(2) of the path.
Result<DiskUsage> statvfs_probe(const std::string& path);

// The conditions themselves, from the supervisor's facts and events.
class AlertWatch {
 public:
  AlertWatch(AlertSink sink, DiskProbe probe = statvfs_probe)
      : engine_(std::move(sink)), probe_(std::move(probe)) {}
  void configure(const AlertSettings& s);
  const AlertSettings& settings() const { return settings_; }

  // Every event the supervisor writes or hands on (stream.started,
  // stream.ended, segment.written, stage.restarted; from_stage: a stage
  // wrote it, and its alert.* ones are tracked as open until resolved).
  void on_event(const std::string& type, const std::string& channel, const nlohmann::json& event, Now now,
                bool from_stage);
  // A stage that reported alerts of its own (sigma-hook) is gone.
  void clear_external() { engine_.clear_external(); }

  // One round: the conditions from the facts; the disks when due.
  void evaluate(const std::vector<StageFacts>& stages, const std::vector<ChannelFacts>& channels,
                const std::vector<std::string>& disk_paths, Now now);

  std::vector<OpenAlert> open() const { return engine_.open(); }

 private:
  struct Input {
    bool present = false;
    bool seen = false;  // a publisher came since the channel was added
    int64_t changed_at = -1;  // mono: when present last changed
    int64_t last_segment = -1;  // mono
    // Failover (input.switched from sigma-ingest): the input on the air,
    // "" when the channel has none or before its first switch.
    std::string active;
    int64_t active_changed_at = -1;  // mono
  };

  AlertSettings settings_;
  AlertEngine engine_;
  DiskProbe probe_;
  std::map<std::string, Input> inputs_;  // by channel
  // disk_full: a writer of a channel (package, dvr, record) that said
  // output.failed (failing until it says output.recovered); by
  // "channel/writer", kept once seen so that the alert can resolve.
  struct WriteFailure {
    std::string channel, writer, summary;
    bool failing = false;
  };
  std::map<std::string, WriteFailure> write_failures_;
  std::map<std::string, std::deque<int64_t>> restarts_;  // by stage id, mono
  int64_t next_disk_check_ = 0;
  std::map<std::string, bool> disk_active_;  // by path, from the last check
  std::map<std::string, std::string> disk_summary_;
};

}  // namespace sigma::supervisor
