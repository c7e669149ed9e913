#pragma once
// One blocking HTTP/1.0 request over a fresh connection to a numeric IPv4
// HOST:PORT, with a deadline on every send and read: the command lines'
// side of the supervisor's local endpoints (`sigma-supervisor status`
// reads /status, `sigma-supervisor channel ...` calls the API).
#include <string>

#include "base/status.h"

namespace sigma::http {

struct BlockingReply {
  int status = 0;
  std::string body;
};

// headers: extra header lines, each ending in "\r\n". `what` names the
// peer in errors ("the sigma-supervisor API at ADDR").
Result<BlockingReply> blocking_request(const std::string& addr, const std::string& method, const std::string& path,
                                       const std::string& headers, const std::string& body, int timeout_ms,
                                       const std::string& what);

}  // namespace sigma::http
