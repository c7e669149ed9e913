#pragma once
// From a Config to the processes and FIFOs it implies: one shared
// sigma-ingest (when a channel takes published input; which channels it
// packages or records is in its --channels file), sigma-origin, and
// per channel [source] -> FIFO -> [sigma-transcode] -> FIFO -> sigma-package,
// and sigma-dvr beside them when the channel has an archive (sigma-thumb
// when it has thumbnails).
// The same plan is what the supervisor runs and what --dry-run prints as
// shell commands a user can paste.
#include <string>
#include <vector>

#include "supervisor/config.h"

namespace sigma::supervisor {

// Descriptor numbers a child sees besides 0-2.
inline constexpr int kChildReadyFd = 3;
inline constexpr int kChildEventsFd = 4;

struct StageSpec {
  std::string id;       // "ingest", "origin", "<channel>/package", ...
  std::string channel;  // empty for the shared stages
  std::string stage;    // ingest, origin, source, transcode, package, dvr
  std::vector<std::string> argv;
  std::string stdin_fifo;   // empty: /dev/null
  std::string stdout_fifo;  // empty: the supervisor's stdout is not shared; /dev/null
  bool custom = false;        // a hand-written command (exec input, <stage>.command)
  bool notify_ready = true;   // passes --ready-fd 3; else ready once spawned
  bool events_pipe = true;    // passes --events fd:4 (read by the supervisor)
  std::string events_file;    // where those events end up (dry-run shows this)
  // Its stdin is a pipe the supervisor writes the channel's segment.written
  // events to (the dvr and thumb stages: sigma-dvr/sigma-thumb run
  // --events-in -).
  bool stdin_events = false;
  // A file the stage reads at start and again on SIGHUP (the shared
  // ingest's channel routes): the supervisor writes reload_text there, and
  // a change to it is a SIGHUP, not a restart.
  std::string reload_file;
  std::string reload_text;
  // A stage that re-reads a config of its own on SIGHUP (sigma-hook's
  // subscription file): a supervisor reload passes the SIGHUP on.
  bool hup_on_reload = false;

  bool same_as(const StageSpec& o) const {
    return argv == o.argv && custom == o.custom && stdin_fifo == o.stdin_fifo && stdout_fifo == o.stdout_fifo &&
           notify_ready == o.notify_ready && events_pipe == o.events_pipe && stdin_events == o.stdin_events;
  }
};

struct ChannelPlan {
  std::string name;
  std::string dir;    // <run_dir>/<name>: its FIFOs
  std::string output_dir;
  std::vector<std::string> fifos;
  std::vector<StageSpec> stages;  // upstream first
};

struct Plan {
  std::vector<StageSpec> shared;  // ingest, origin
  std::vector<ChannelPlan> channels;  // enabled channels only
  std::vector<std::string> all_fifos() const;
};

// exe_dir: where sigma-supervisor itself lives (to find sibling tools).
Plan make_plan(const Config& cfg, const std::string& exe_dir);

// The plan as a POSIX shell script: mkfifo, exec N<> to hold each FIFO
// open as the supervisor does, one backgrounded command per stage, wait.
std::string render_shell(const Plan& plan);

// argv as the child sees it (with --ready-fd/--events when asked for).
std::vector<std::string> child_argv(const StageSpec& s);

}  // namespace sigma::supervisor
