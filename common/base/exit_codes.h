#pragma once
// One exit-status table for every Sigma tool (see man/sigma-exit-status.7
// and the EXIT STATUS section of each man page). The supervisor decides on
// these: it never restarts kUsage, retries kSystem with backoff.
namespace sigma {

enum class ExitCode : int {
  kOk = 0,         // finished, or stopped cleanly by SIGTERM/SIGINT
  kInternal = 1,   // a bug: an unexpected state, an uncaught exception
  kData = 65,      // the input media is unusable (corrupt, empty, unknown codec)
  kUsage = 100,    // bad command line or config: retrying will not help
  kSystem = 111,   // a system call or I/O failed: retrying may help
};

inline int to_int(ExitCode c) { return static_cast<int>(c); }

}  // namespace sigma
