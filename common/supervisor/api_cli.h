#pragma once
// `sigma-supervisor token ...` and `sigma-supervisor channel ...`: the
// terminal's side of the control API (sigma-supervisor(1)). Token commands
// work on the token file directly; channel commands call the running
// supervisor's API, so a change goes through the same checks.
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::supervisor {

struct TokenCommand {
  std::string config_path;
  std::string tokens_file;  // "": from the config, else api-tokens beside it
  std::string action;       // new, list, revoke
  std::string name;
  std::string scope = "read";
};
Status run_token_command(const TokenCommand& c);

struct ChannelCommand {
  std::string config_path;
  std::string api;         // HOST:PORT; "": [global] api of the config
  std::string token_file;  // "": $SIGMA_API_TOKEN
  std::string action;      // list, show, put, delete, start, stop, restart, rotate-key
  std::vector<std::string> args;
};
Status run_channel_command(const ChannelCommand& c);

}  // namespace sigma::supervisor
