#pragma once
// The access log: one JSON object per request (NDJSON), appended with a
// single write() so lines from several threads never interleave, read by
// the stats tool. Fields: time, client, method, path, query, status, bytes,
// duration_ms, user_agent (and referer when present); session and
// session_source ("path" | "cmcd") when the request belongs to a viewer
// session (sigma-origin(1), SESSIONS). path is the request's path as
// received, /s/SID/ included.
#include <cstdint>
#include <string>

#include "base/status.h"

namespace sigma::http {

struct AccessRecord {
  int64_t unix_ms = 0;       // when the request was read
  std::string client;        // "127.0.0.1:53422"
  std::string method;
  std::string path;          // the path as received, without the query
  std::string query;         // raw query string, "" when none
  int status = 0;
  uint64_t bytes = 0;        // body bytes sent
  double duration_ms = 0;    // request read -> response written
  std::string user_agent;
  std::string referer;
  std::string session;         // "" when none
  std::string session_source;  // "path" | "cmcd"
};

class AccessLog {
 public:
  AccessLog() = default;  // disabled
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // path: a file (appended to, created 0644), or "-" for stdout. Empty: off.
  Status open(const std::string& path);
  bool enabled() const { return fd_ >= 0; }
  void write(const AccessRecord& r);

 private:
  int fd_ = -1;
  bool owned_ = false;
};

std::string access_record_json(const AccessRecord& r);

}  // namespace sigma::http
