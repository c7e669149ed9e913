#pragma once
// Spawning and signalling stage processes. Each child gets its own session
// (so signals reach its whole process group and a terminal's ^C does not),
// a clean signal mask, default dispositions, and exactly the descriptors it
// is meant to have: 0, 1, 2, and optionally 3 (ready) and 4 (events).
#include <sys/types.h>

#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::supervisor {

struct ChildFds {
  int in = -1;      // -1: /dev/null
  int out = -1;     // -1: /dev/null
  int err = 2;      // the supervisor's stderr by default
  int ready = -1;   // becomes fd 3 when >= 0
  int events = -1;  // becomes fd 4 when >= 0
};

// Forks and execs argv[0] (searched in PATH when it has no '/'). Returns
// once exec succeeded; an exec failure comes back as an error (kUsage when
// the program is missing or not executable: a restart will not fix it).
Result<pid_t> spawn_child(const std::vector<std::string>& argv, const ChildFds& fds);

// Signals the child's whole process group.
void signal_group(pid_t pgid, int sig);

// pipe2 with O_CLOEXEC on both ends; the read end non-blocking.
Status make_pipe(int& read_end, int& write_end);
// A stage's stdin fed by the supervisor: the read end blocking (the
// child's), the write end non-blocking (never stalls the loop), the pipe
// grown to absorb a slow moment of the reader.
Status make_events_stdin(int& read_end, int& write_end);

// Creates path as a FIFO (0600) unless one is there already.
Status ensure_fifo(const std::string& path);
// Opens a FIFO read-write: the holder keeps both a reader and a writer
// alive, so neither side of a stage ever sees EOF or EPIPE because its
// neighbour restarted. Grows the pipe buffer to absorb a restart.
Result<int> hold_fifo(const std::string& path);
// Opens a FIFO for writing as a child's stdout (blocking once open).
Result<int> open_fifo_writer(const std::string& path);
Result<int> open_fifo_reader(const std::string& path);

}  // namespace sigma::supervisor
