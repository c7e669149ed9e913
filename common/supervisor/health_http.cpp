#include "supervisor/health_http.h"

#include "http/blocking_client.h"

namespace sigma::supervisor {

Result<std::string> http_get(const std::string& addr, const std::string& path, int timeout_ms) {
  SIGMA_ASSIGN_OR_RETURN(http::BlockingReply r, http::blocking_request(addr, "GET", path, "", "", timeout_ms,
                                                                       "sigma-supervisor health endpoint"));
  if (r.status != 200 && r.status != 503)
    return system_error("GET " + path + " from " + addr + ": HTTP " + std::to_string(r.status));
  return std::move(r.body);
}

}  // namespace sigma::supervisor
