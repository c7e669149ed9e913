#pragma once
// The URLs a channel may be pushed to (restream targets): rtmp://, rtmps://
// (FLV) and srt:// (MPEG-TS). Checked where a config is read (the
// supervisor's channel file, sigma-ingest's --restream and --channels) so
// that a typo is exit 100 there, not a target that fails forever.
#include <string>

#include "base/status.h"

namespace sigma {

enum class PushKind { kFlv, kMpegTs };

struct PushUrl {
  std::string scheme;  // rtmp, rtmps, srt
  std::string host;
  int port = 0;        // 0: the scheme's default (rtmp 1935, rtmps 443)
  PushKind kind = PushKind::kFlv;
};

// Usage errors say what is wrong without repeating the URL's secrets
// (the message carries redact_url(url) only).
Result<PushUrl> parse_push_url(const std::string& url);

// A restream target's name: letters, digits, '-' and '_' (1-32), so that
// it reads in status tables and never collides with a channel's dot.
bool valid_push_target_name(const std::string& name);

}  // namespace sigma
