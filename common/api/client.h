#pragma once
// The CLI's side of the API (`sigma-supervisor channel ...`): one blocking
// request over a fresh connection, HTTP/1.0, with a deadline.
#include <string>

#include "base/status.h"

namespace sigma::api {

struct ClientReply {
  int status = 0;
  std::string body;
};

Result<ClientReply> api_request(const std::string& addr, const std::string& method, const std::string& path,
                                const std::string& token, const std::string& body, int timeout_ms = 30'000);

}  // namespace sigma::api
