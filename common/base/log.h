#pragma once
// Logging: spdlog to stderr only (stdout carries media). One logger per
// process, named after the tool. Secrets must never reach a log line: pass
// URLs through redact_url() and never log keys or tokens.
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

namespace sigma {

// level: trace, debug, info, warn, error, off.
void init_logging(std::string_view tool, std::string_view level);

// rtmp://user:pass@host/app/KEY?passphrase=x -> rtmp://***@host/app/***?passphrase=***
// Hides userinfo, every query value, and (for rtmp/srt) the last path
// element, which is the stream key by convention.
std::string redact_url(std::string_view url);

}  // namespace sigma
