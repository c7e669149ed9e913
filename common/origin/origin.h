#pragma once
// sigma-origin's body: serve a root of channel directories over HTTP/1.1
// until SIGTERM/SIGINT.
#include <chrono>
#include <string>

#include "base/cli.h"
#include "base/status.h"

namespace sigma::origin {

struct OriginParams {
  std::string listen = "127.0.0.1:8080";
  std::string root = ".";
  std::string access_log;       // NDJSON file, "-" for stdout, "" off
  std::string web_dir;          // watch page; "" = found beside the binary
  int threads = 2;
  double hold_timeout_s = 0;    // 0: 3 target durations
  bool fresh_join = true;       // plain LL-HLS playlist requests wait for the next part
  bool sessions = true;         // masters start viewer sessions (s/SID/ in their URIs)
  int send_timeout_s = 60;      // a client that stops reading is dropped
  size_t cache_mb = 128;
  // Signed playback (origin/playback_auth.h): channels that need a token,
  // given here and/or in a file, and the secrets file. Both files are read
  // again on SIGHUP.
  std::string signed_channels;  // "CH,CH" or "all"
  std::string signed_file;
  std::string playback_secret;
};

// `sigma-origin sign`: prints BASE/CH/t/TOKEN/master.m3u8.
struct SignParams {
  std::string channel;
  std::string ttl = "1h";
  std::string ip;
  std::string viewer;
  std::string secret_file;
  std::string base;  // "" : http://<listen>
  std::string listen = "127.0.0.1:8080";
};
Status run_sign(const SignParams& p);

Status run_origin(const OriginParams& p, CommonOptions& common);

}  // namespace sigma::origin
