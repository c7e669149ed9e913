#pragma once
// The writes of one writer (a channel's packager, its archive, a source
// recording) that fail for a reason that may pass: a full filesystem, a
// quota, an I/O error. The writer does not stop: it drops what it could
// not write (never listing it), goes on, and tries again with the next
// piece. This object tells the story once: one log line and one
// output.failed event when failures begin, a count while they last, and
// one log line and one output.recovered event when a write succeeds
// again. sigma-supervisor turns the pair into its disk_full alert.
#include <cstdint>
#include <string>

#include "base/events.h"
#include "base/status.h"

namespace sigma {

// The error is a filesystem that is full (ENOSPC, EDQUOT, SQLITE_FULL).
bool is_no_space(const Status& st);

class WriteHealth {
 public:
  // events may be null (nothing emitted); writer: "package", "dvr", "record".
  WriteHealth(EventWriter* events, std::string channel, std::string writer)
      : events_(events), channel_(std::move(channel)), writer_(std::move(writer)) {}

  // A write failed. what: the thing that was lost ("segment v0/seg12.m4s").
  void failed(const std::string& what, const Status& st);
  // Failures so far: a writer takes the count before a piece of work and
  // calls recovered_since() with it after the work succeeded whole.
  uint64_t failures() const { return failures_; }
  // No failure since mark: if failing, the failures are over.
  void recovered_since(uint64_t mark);
  bool failing() const { return failing_; }
  // Pieces lost during the current (or last) run of failures.
  int64_t lost() const { return lost_; }

 private:
  EventWriter* events_;
  std::string channel_, writer_;
  bool failing_ = false;
  uint64_t failures_ = 0;
  int64_t lost_ = 0;
  int64_t since_ms_ = 0;  // unix ms of the first failure of the run
  std::string first_error_;
};

}  // namespace sigma
