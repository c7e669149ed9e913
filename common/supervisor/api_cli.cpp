#include "supervisor/api_cli.h"

#include <cstdlib>
#include <iostream>

#include <nlohmann/json.hpp>

#include "api/client.h"
#include "api/tokens.h"
#include "base/fs.h"
#include "supervisor/config.h"

namespace sigma::supervisor {
namespace {

std::string beside_config(const std::string& config_path, const std::string& file) {
  auto slash = config_path.rfind('/');
  return (slash == std::string::npos ? std::string(".") : config_path.substr(0, slash)) + "/" + file;
}

std::string trim_line(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  size_t b = s.find_first_not_of(' ');
  return b == std::string::npos ? "" : s.substr(b);
}

}  // namespace

Status run_token_command(const TokenCommand& c) {
  std::string file = c.tokens_file;
  if (file.empty()) {
    auto cfg = load_config(c.config_path);
    file = cfg && !cfg->global.api_tokens.empty() ? cfg->global.api_tokens : beside_config(c.config_path, "api-tokens");
  }
  if (c.action == "new") {
    SIGMA_ASSIGN_OR_RETURN(api::Scope scope, api::parse_scope(c.scope));
    SIGMA_ASSIGN_OR_RETURN(std::string token, api::add_token(file, c.name, scope));
    std::cerr << "sigma-supervisor: token '" << c.name << "' (" << api::to_string(scope) << ") added to " << file
              << "; it is shown once, here:\n";
    std::cout << token << "\n";
    return {};
  }
  if (c.action == "revoke") {
    SIGMA_RETURN_IF_ERROR(api::revoke_token(file, c.name));
    std::cerr << "sigma-supervisor: token '" << c.name << "' revoked in " << file << "\n";
    return {};
  }
  SIGMA_ASSIGN_OR_RETURN(api::TokenFile f, api::TokenFile::load(file));
  for (auto& e : f.entries())
    std::cout << e.name << "\t" << api::to_string(e.scope) << "\t" << (e.created.empty() ? "-" : e.created) << "\n";
  return {};
}

Status run_channel_command(const ChannelCommand& c) {
  std::string addr = c.api;
  if (addr.empty()) {
    auto cfg = load_config(c.config_path);
    if (!cfg) return cfg.status().wrap("find the API address (or pass --api HOST:PORT)");
    addr = cfg->global.api;
  }
  if (addr == "off") return usage_error("the API is off in " + c.config_path + " ([global] api = HOST:PORT)");
  std::string token;
  if (!c.token_file.empty()) {
    auto t = read_file(c.token_file);
    if (!t) return usage_error("read token file " + c.token_file + ": " + t.status().message());
    token = trim_line(*t);
  } else if (const char* env = std::getenv("SIGMA_API_TOKEN")) {
    token = trim_line(env);
  }
  if (token.empty()) return usage_error("no API token: pass --token-file FILE or set SIGMA_API_TOKEN");
  auto need = [&](size_t n, const char* usage) -> Status {
    if (c.args.size() != n) return usage_error(std::string("usage: sigma-supervisor channel ") + usage);
    return {};
  };
  std::string method = "GET", path, body;
  const std::string& a = c.action;
  if (a == "list") {
    SIGMA_RETURN_IF_ERROR(need(0, "list"));
    path = "/v1/channels";
  } else if (a == "show") {
    SIGMA_RETURN_IF_ERROR(need(1, "show NAME"));
    path = "/v1/channels/" + c.args[0];
  } else if (a == "put") {
    SIGMA_RETURN_IF_ERROR(need(2, "put NAME FILE.json"));
    auto t = read_file(c.args[1]);
    if (!t) return usage_error("read " + c.args[1] + ": " + t.status().message());
    method = "PUT";
    path = "/v1/channels/" + c.args[0];
    body = *t;
  } else if (a == "delete") {
    SIGMA_RETURN_IF_ERROR(need(1, "delete NAME"));
    method = "DELETE";
    path = "/v1/channels/" + c.args[0];
  } else if (a == "start" || a == "stop") {
    SIGMA_RETURN_IF_ERROR(need(1, "start|stop NAME"));
    method = "POST";
    path = "/v1/channels/" + c.args[0] + "/" + a;
  } else if (a == "restart") {
    SIGMA_RETURN_IF_ERROR(need(2, "restart NAME STAGE"));
    method = "POST";
    path = "/v1/channels/" + c.args[0] + "/stages/" + c.args[1] + "/restart";
  } else if (a == "rotate-key") {
    SIGMA_RETURN_IF_ERROR(need(1, "rotate-key NAME"));
    method = "POST";
    path = "/v1/channels/" + c.args[0] + "/key/rotate";
  } else {
    return usage_error("channel: expected list, show, put, delete, start, stop, restart or rotate-key");
  }
  for (auto& arg : c.args)
    if (&arg != &c.args.back() || a != "put")
      for (char ch : arg)
        if (ch == '/' || ch == '?' || ch == '%' || ch == '#' || static_cast<unsigned char>(ch) <= ' ')
          return usage_error("'" + arg + "' is not a channel or stage name");
  SIGMA_ASSIGN_OR_RETURN(api::ClientReply r, api::api_request(addr, method, path, token, body));
  if (r.status >= 200 && r.status < 300) {
    std::cout << r.body;
    if (!r.body.empty() && r.body.back() != '\n') std::cout << "\n";
    return {};
  }
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  std::string msg = !j.is_discarded() && j.contains("error") && j["error"].is_object()
                        ? j["error"].value("code", "") + ": " + j["error"].value("message", "")
                        : trim_line(r.body);
  std::string what = method + " " + path + ": HTTP " + std::to_string(r.status) + " " + msg;
  return r.status >= 500 ? system_error(what) : usage_error(what);
}

}  // namespace sigma::supervisor
