#include "api/client.h"

#include "http/blocking_client.h"

namespace sigma::api {

Result<ClientReply> api_request(const std::string& addr, const std::string& method, const std::string& path,
                                const std::string& token, const std::string& body, int timeout_ms) {
  std::string headers;
  if (!token.empty()) headers += "Authorization: Bearer " + token + "\r\n";
  if (!body.empty() || method == "PUT" || method == "POST")
    headers += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  SIGMA_ASSIGN_OR_RETURN(http::BlockingReply r,
                         http::blocking_request(addr, method, path, headers, body, timeout_ms, "the sigma-supervisor API"));
  return ClientReply{r.status, std::move(r.body)};
}

}  // namespace sigma::api
