#pragma once
// Events: one JSON object per line (NDJSON), each line written with a single
// write() on an O_APPEND fd so that several writers may share one file.
// Every event has "time", "type" and, where there is one, "channel".
#include <nlohmann/json.hpp>

#include <string>

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

  // Adds "time" and "type" (and "channel" when not empty) to fields.
  void emit(const std::string& type, const std::string& channel,
            nlohmann::json fields = nlohmann::json::object());

 private:
  int fd_ = -1;
  bool owned_ = false;
};

}  // namespace sigma
