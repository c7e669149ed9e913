#pragma once
// The supervisor's /healthz, /status and /metrics listener is the small
// poll()-driven HTTP/1.0 server of common/http (http/poll_server.h), driven
// by the supervisor's own poll loop; here only the client side.
#include <string>

#include "base/status.h"
#include "http/poll_server.h"

namespace sigma::supervisor {

using http::HttpReply;
using HealthServer = http::PollHttpServer;

// Blocking GET for `sigma-supervisor status`: returns the body; an HTTP
// status other than 200/503 is an error.
Result<std::string> http_get(const std::string& addr, const std::string& path, int timeout_ms);

}  // namespace sigma::supervisor
