#pragma once
// Events: one JSON object per line (NDJSON), each line written with a single
// write() on an O_APPEND fd so that several writers may share one file.
// Every event has "id" (a UUIDv7: unique, and sorted as text it is sorted
// by time), "time", "tool" (the program that wrote it: "sigma-package"),
// "type" and, where there is one, "channel". An event handed on by another
// program (the supervisor copies its stages' events into the channel's
// file) keeps the id, time and tool its writer gave it.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "base/status.h"

namespace sigma {

class EventWriter {
 public:
  EventWriter() = default;  // disabled: emit() does nothing
  ~EventWriter();
  EventWriter(const EventWriter&) = delete;
  EventWriter& operator=(const EventWriter&) = delete;

  // target: a file path (appended to, created 0644), "-" for stderr, or
  // "fd:N" for an inherited descriptor. Empty: disabled.
  Status open(const std::string& target);
  bool enabled() const { return fd_ >= 0; }

  // Adds "id", "time", "tool" and "type" (and "channel" when not empty)
  // to fields; those that fields already has are kept.
  void emit(const std::string& type, const std::string& channel,
            nlohmann::json fields = nlohmann::json::object());

 private:
  int fd_ = -1;
  bool owned_ = false;
};

// The "tool" of every event this process writes; run_main sets it.
void set_event_tool(std::string_view tool);
// A new UUIDv7 (RFC 9562) as 36 characters: the Unix ms in its first 48
// bits, then a counter that keeps ids made in one millisecond in order,
// then random bits (getrandom).
std::string new_event_id();

}  // namespace sigma
