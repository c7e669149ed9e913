// sigma-supervisor: runs the channels of a config file, restarts failed
// stages, reports health. See sigma-supervisor(1) and sigma-supervisor(5).
#include <unistd.h>

#include <climits>
#include <string>

#include "base/cli.h"
#include "supervisor/api_cli.h"
#include "supervisor/supervisor.h"

namespace {
std::string exe_dir() {
  char buf[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) return "";
  std::string p(buf, static_cast<size_t>(n));
  return p.substr(0, p.rfind('/'));
}
}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sigma-supervisor: runs the channels of a config file, restarts failed stages, reports health. "
               "See sigma-supervisor(1) and sigma-supervisor(5)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  sigma::supervisor::SupervisorParams p;
  p.config_path = "/etc/sigma/supervisor.conf";
  bool dry_run = false, json = false;
  app.add_option("-c,--config", p.config_path, "channel config (sigma-supervisor(5))")->capture_default_str();
  app.add_flag("-n,--dry-run", dry_run, "print the FIFOs and processes as shell commands, start nothing");
  app.add_option("--health", p.health, "/healthz, /status and /metrics HTTP address HOST:PORT or off (overrides the config)");
  auto* status = app.add_subcommand("status", "print the running supervisor's stages as a table");
  status->add_flag("--json", json, "print the /status JSON instead");
  // -c and --health belong to the main command but may follow "status", as
  // the man page's synopsis writes them.
  status->fallthrough();
  // The control API from the terminal: tokens in the token file, channels
  // through the running supervisor's API.
  sigma::supervisor::TokenCommand tc;
  auto* token = app.add_subcommand("token", "make, list and revoke control API tokens (the token file)");
  token->require_subcommand(1);
  token->fallthrough();
  auto* token_new = token->add_subcommand("new", "add a token NAME and print it, once");
  token_new->add_option("NAME", tc.name, "the token's name")->required();
  token_new->add_option("--scope", tc.scope, "read or write")->capture_default_str();
  auto* token_list = token->add_subcommand("list", "list the tokens (names, scopes, dates; never the tokens)");
  auto* token_revoke = token->add_subcommand("revoke", "remove the token NAME");
  token_revoke->add_option("NAME", tc.name, "the token's name")->required();
  for (auto* sub : {token_new, token_list, token_revoke}) {
    sub->add_option("--tokens", tc.tokens_file, "token file (default: [global] api_tokens, else api-tokens beside the config)");
    sub->fallthrough();
  }
  sigma::supervisor::ChannelCommand cc;
  auto* channel = app.add_subcommand("channel", "list, show, put, delete, start, stop, restart or rotate-key "
                                                "through the running supervisor's API");
  channel->add_option("ACTION", cc.action, "list | show NAME | put NAME FILE.json | delete NAME | start NAME | stop NAME | "
                                           "restart NAME STAGE | rotate-key NAME")->required();
  channel->add_option("ARGS", cc.args, "the action's arguments");
  channel->add_option("--api", cc.api, "the API's HOST:PORT (default: [global] api of the config)");
  channel->add_option("--token-file", cc.token_file, "a file holding the API token (default: $SIGMA_API_TOKEN)");
  channel->fallthrough();
  p.exe_dir = exe_dir();
  return sigma::run_main(app, argc, argv, "sigma-supervisor", common, [&]() -> sigma::Status {
    p.events = common.events;
    p.ready_fd = common.ready_fd;
    if (status->parsed()) return sigma::supervisor::print_status(p, json);
    if (token->parsed()) {
      tc.config_path = p.config_path;
      tc.action = token_new->parsed() ? "new" : token_revoke->parsed() ? "revoke" : "list";
      return sigma::supervisor::run_token_command(tc);
    }
    if (channel->parsed()) {
      cc.config_path = p.config_path;
      return sigma::supervisor::run_channel_command(cc);
    }
    if (dry_run) return sigma::supervisor::print_dry_run(p);
    return sigma::supervisor::run_supervisor(p);
  });
}
