#pragma once
// The API's routes and the checks every request passes before it reaches
// the backend: the route, the token and its scope, the channel name, the
// body. Pure functions over ApiRequest (the fuzz test drives them without
// a socket), and the Authenticator that holds the token file.
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "api/api_types.h"
#include "api/rate_limit.h"
#include "api/tokens.h"

namespace sigma::api {

struct Route {
  const char* method;
  const char* path;  // as the OpenAPI document writes it: /v1/channels/{name}
  Op op;
  Scope scope;
};
// Every route of the API (the unit test checks each is in the document).
const std::vector<Route>& routes();

struct Match {
  const Route* route = nullptr;  // nullptr: see status
  int status = 404;              // 404 no such path, 405 path known but not the method
  std::string allow;             // for 405
  std::string channel, stage;    // decoded path parameters (not yet validated)
};
Match match_route(const std::string& method, const std::string& path);

// After authentication: the call, or the 4xx that refuses it (bad name,
// bad body, bad query).
std::variant<Call, ApiReply> make_call(const ApiRequest& req, const Match& m);

// The path of a target without its query ("" for one that is not
// origin-form).
std::string target_path(const std::string& target);

struct AuthOptions {
  std::string tokens_file;
  int max_failures = 10;
  int64_t failure_window_ms = 60'000;
};

class Authenticator {
 public:
  explicit Authenticator(AuthOptions o) : opts_(std::move(o)), limiter_(opts_.max_failures, opts_.failure_window_ms) {}
  // nullopt: allowed, token_name set; else the refusal (401 with
  // WWW-Authenticate, 403 scope, 429 too many failures). The token file is
  // re-read when it changes, so `token new` and `token revoke` apply at once.
  std::optional<ApiReply> check(const ApiRequest& req, Scope need, std::string& token_name, int64_t now_ms);
  // Whether the token file lists any token (reads it now).
  Result<bool> has_tokens();

 private:
  Status refresh();
  AuthOptions opts_;
  FailureLimiter limiter_;
  std::mutex mu_;
  TokenFile tokens_;
  int64_t mtime_ns_ = -1;
  int64_t size_ = -1;
  int64_t ino_ = -1;
  std::string load_error_;
};

}  // namespace sigma::api
