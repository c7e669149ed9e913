#pragma once
// The control API's HTTP listener (sigma-supervisor(1), CONTROL API): a
// Boost.Beast server on a thread of its own. It checks the route, the
// token and the request, answers what needs no engine (/healthz, the
// OpenAPI document, the event stream) and hands every other call to the
// Backend, whose answer may come from any thread.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "api/api_types.h"
#include "base/status.h"

namespace sigma::api {

struct ApiServerOptions {
  std::string listen;       // HOST:PORT
  std::string tokens_file;  // NAME SCOPE SHA256 lines (tokens.h)
  uint64_t max_body_bytes = 64 * 1024;
  int64_t heartbeat_ms = 15'000;
  int max_failures = 10;
  int64_t failure_window_ms = 60'000;
};

// Whether HOST:PORT names a loopback address (127.0.0.0/8, ::1).
Result<bool> is_loopback_address(const std::string& listen);

class ApiServer {
 public:
  explicit ApiServer(Backend& backend);
  ~ApiServer();
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Refuses (usage error) a non-loopback address while the token file
  // holds no token, and a token file that does not parse.
  Status start(const ApiServerOptions& opts);
  void stop();
  bool running() const;
  const ApiServerOptions& options() const;
  // An event to the SSE subscribers; from any thread, never blocks.
  void publish(const nlohmann::json& event);

  struct Impl;

 private:
  Backend& backend_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sigma::api
