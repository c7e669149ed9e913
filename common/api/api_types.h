#pragma once
// The control API's requests and replies as plain values, apart from any
// HTTP library: the router, the fuzz test and the supervisor's backend all
// speak these.
#include <nlohmann/json.hpp>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace sigma::api {

enum class Scope { kRead, kWrite };
const char* to_string(Scope s);

struct ApiRequest {
  std::string method;         // "GET", "PUT", ...
  std::string target;         // "/v1/channels/news?x=1", as sent
  std::string authorization;  // the Authorization header ("" = none)
  std::string client;         // "127.0.0.1:41234"
  std::string body;
};

struct ApiReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

// {"error":{"code":CODE,"message":MESSAGE}}. The codes are stable (the
// OpenAPI document lists them): bad_request, bad_json, bad_field,
// forbidden_field, bad_name, bad_config, unauthorized, forbidden,
// rate_limited, not_found, method_not_allowed, read_only, conflict,
// not_configured, internal.
ApiReply error_reply(int status, const std::string& code, const std::string& message);
ApiReply json_reply(int status, const nlohmann::json& body);

enum class Op {
  kOpenApi,
  kListChannels,
  kGetChannel,
  kPutChannel,
  kDeleteChannel,
  kStartChannel,
  kStopChannel,
  kRestartStage,
  kRotateKey,
  kPlaybackUrl,
  kEvents,
};

// One parsed, validated request, ready for the backend.
struct Call {
  Op op = Op::kListChannels;
  std::string channel;  // valid channel name when the route has one
  std::string stage;
  nlohmann::json body;  // PUT: the channel's keys; playback-url: {ttl, ip}
  std::map<std::string, std::string> query;
  std::string token_name;  // who asked (for logs and events)
};

using Done = std::function<void(ApiReply)>;

// What the API asks of the program that serves it (the supervisor): it
// runs the call on its own thread and answers through done, from any
// thread. The API layer knows nothing of the supervisor.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual void handle(Call call, Done done) = 0;
};

}  // namespace sigma::api
