// The control API's calls on the engine's side (sigma-supervisor(1),
// CONTROL API). Each runs on the engine's thread between two polls, so it
// sees and changes the graph as a SIGHUP reload does: a channel change is
// a channel file written after the whole config it leads to was checked,
// then apply() of that config, which touches only what changed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cstring>

#include "api/channel_body.h"
#include "api/tokens.h"
#include "base/conf.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/time.h"
#include "crypto/crypto.h"
#include "origin/signing.h"
#include "supervisor/supervisor.h"

namespace sigma::supervisor {
namespace {

using api::ApiReply;
using api::error_reply;
using api::json_reply;

void fsync_dir_of(const std::string& path) {
  auto slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

// The keys of a section as written.
api::ChannelEntries section_entries(const std::string& file, bool main_file, const std::string& name) {
  std::vector<ConfSectionKind> kinds = {{"channel", true}};
  if (main_file) kinds.insert(kinds.begin(), {"global", false});
  auto doc = load_conf(file, kinds);
  api::ChannelEntries out;
  if (!doc) return out;
  for (auto& sec : doc->sections)
    if (sec.header.kind == "channel" && sec.header.name == name)
      for (auto& e : sec.entries) out.emplace_back(e.key, e.value);
  return out;
}

// The shared ingest's keys file with `channel`'s lines replaced by one
// with the new secret; comments and other channels kept as they were.
std::string replace_key(const std::string& text, const std::string& channel, const std::string& secret) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    size_t b = line.find_first_not_of(" \t");
    size_t e = b == std::string::npos ? b : line.find_first_of(" \t", b);
    bool ours = b != std::string::npos && line[b] != '#' && line.substr(b, e == std::string::npos ? e : e - b) == channel;
    if (!ours) out += line + "\n";
  }
  return out + channel + " " + secret + "\n";
}

}  // namespace

Status Supervisor::start_api() {
  const GlobalConfig& g = cfg_.global;
  if (g.api == "off") return {};
  api::ApiServerOptions o;
  o.listen = g.api;
  o.tokens_file = g.api_tokens;
  return api_.start(o);
}

void Supervisor::api_publish(const std::string& type, const std::string& channel, const nlohmann::json& fields) {
  nlohmann::json e = fields.is_object() ? fields : nlohmann::json::object();
  if (!e.contains("type")) e["type"] = type;
  if (!channel.empty() && !e.contains("channel")) e["channel"] = channel;
  if (!e.contains("time")) e["time"] = now_iso8601();
  if (!e.contains("tool")) e["tool"] = "sigma-supervisor";
  api_.publish(e);
}

void Supervisor::run_api_calls() {
  for (auto& [call, done] : api_queue_.take()) {
    if (stopping_) {
      done(error_reply(503, "unavailable", "the supervisor is stopping"));
      continue;
    }
    ApiReply r;
    try {
      r = api_call(call);
    } catch (const std::exception& e) {
      spdlog::error("API: {}: {}", call.channel, e.what());
      r = error_reply(500, "internal", std::string("internal error: ") + e.what());
    }
    done(std::move(r));
  }
}

nlohmann::json Supervisor::channel_api_json(const ChannelConfig& cc, const nlohmann::json& status) const {
  bool from_api = !cc.file.empty();
  nlohmann::json j = {{"name", cc.name},
                      {"enabled", cc.enabled},
                      {"source", from_api ? "api" : "config"},
                      {"file", from_api ? cc.file : cfg_.path},
                      {"line", cc.line},
                      {"config", api::entries_json(section_entries(from_api ? cc.file : cfg_.path, !from_api, cc.name))}};
  if (cfg_.global.origin != "off") j["playlist"] = "http://" + cfg_.global.origin + "/" + cc.name + "/master.m3u8";
  nlohmann::json st = nullptr;
  for (auto& c : status["channels"])
    if (c.value("name", "") == cc.name) st = c;
  j["status"] = st;
  nlohmann::json alerts = nlohmann::json::array();
  for (auto& a : status["alerts"])
    if (a.contains("channel") && a["channel"] == cc.name) alerts.push_back(a);
  j["alerts"] = alerts;
  return j;
}

ApiReply Supervisor::api_change_channel_file(const api::Call& c, const std::optional<std::string>& text, int ok_status,
                                             const std::string& event) {
  const GlobalConfig& g = cfg_.global;
  std::string file = channel_file_path(g, c.channel);
  auto cfg = load_config(params_.config_path, {{c.channel, text}});
  Status st = cfg ? check_hooks(*cfg, params_.exe_dir) : cfg.status();
  if (!st.is_ok())
    return error_reply(text ? 400 : 409, "bad_config",
                       (text ? "" : "the config without this channel does not load: ") + st.message());
  if (cfg->global.channels_dir != g.channels_dir)
    return error_reply(409, "conflict", "channels_dir changed in " + params_.config_path + ": reload the supervisor first");
  if (text) {
    if (Status m = make_dirs(g.channels_dir); !m.is_ok()) return error_reply(500, "internal", m.message());
    if (Status w = write_file_durable(file, *text, 0600); !w.is_ok()) return error_reply(500, "internal", w.message());
  } else {
    if (::unlink(file.c_str()) != 0 && errno != ENOENT)
      return error_reply(500, "internal", "remove " + file + ": " + std::strerror(errno));
    fsync_dir_of(file);
  }
  st = apply(*cfg);
  if (!st.is_ok()) {
    spdlog::error("API: {} {}: {}", event, c.channel, st.message());
    emit("config.rejected", "", {{"reason", st.message()}, {"by", "api"}});
    return error_reply(500, "internal", "the channel file is written but applying it failed: " + st.message());
  }
  spdlog::info("API: {} {} (token '{}'); {} channel(s)", event, c.channel, c.token_name, channels_.size());
  emit("api." + event, c.channel, {{"token", c.token_name}});
  emit("config.reloaded", "", {{"channels", channels_.size()}, {"by", "api"}});
  if (!text) return json_reply(ok_status, {{"deleted", c.channel}});
  const ChannelConfig* cc = cfg_.find(c.channel);
  return cc ? json_reply(ok_status, channel_api_json(*cc, status_json())) : json_reply(ok_status, nlohmann::json::object());
}

ApiReply Supervisor::api_call(const api::Call& c) {
  const GlobalConfig& g = cfg_.global;
  const ChannelConfig* cc = c.channel.empty() ? nullptr : cfg_.find(c.channel);
  auto not_found = [&] { return error_reply(404, "not_found", "no channel '" + c.channel + "'"); };
  auto read_only = [&] {
    return error_reply(409, "read_only", "channel '" + c.channel + "' is defined in " + cfg_.path + ":" +
                                             std::to_string(cc->line) + "; change it there (the API changes the "
                                             "channels it made)");
  };
  switch (c.op) {
    case api::Op::kListChannels: {
      nlohmann::json status = status_json();
      nlohmann::json list = nlohmann::json::array();
      for (auto& ch : cfg_.channels) list.push_back(channel_api_json(ch, status));
      return json_reply(200, {{"channels", list}});
    }
    case api::Op::kGetChannel:
      if (!cc) return not_found();
      return json_reply(200, channel_api_json(*cc, status_json()));
    case api::Op::kPutChannel: {
      if (g.channels_dir.empty())
        return error_reply(409, "not_configured", "the config sets no channels_dir: the API cannot create channels");
      if (cc && cc->file.empty()) return read_only();
      auto entries = api::channel_entries(c.body);
      if (auto* e = std::get_if<api::BodyError>(&entries)) return error_reply(400, e->code, e->message);
      std::string text = api::render_channel_file(c.channel, std::get<api::ChannelEntries>(entries));
      return api_change_channel_file(c, text, cc ? 200 : 201, cc ? "channel.replaced" : "channel.created");
    }
    case api::Op::kDeleteChannel:
      if (!cc) return not_found();
      if (cc->file.empty()) return read_only();
      return api_change_channel_file(c, std::nullopt, 200, "channel.deleted");
    case api::Op::kStartChannel:
    case api::Op::kStopChannel: {
      if (!cc) return not_found();
      if (cc->file.empty()) return read_only();
      bool want = c.op == api::Op::kStartChannel;
      if (cc->enabled == want) return json_reply(200, channel_api_json(*cc, status_json()));
      api::ChannelEntries entries;
      for (auto& e : section_entries(cc->file, false, cc->name))
        if (e.first != "enabled") entries.push_back(e);
      if (!want) entries.emplace_back("enabled", "no");
      return api_change_channel_file(c, api::render_channel_file(c.channel, entries), 200,
                                     want ? "channel.started" : "channel.stopped");
    }
    case api::Op::kRestartStage: {
      if (!cc) return not_found();
      auto ch = channels_.find(c.channel);
      if (ch == channels_.end()) return error_reply(409, "conflict", "channel '" + c.channel + "' is stopped");
      std::string list;
      for (auto& spec : ch->second.plan.stages) {
        if (spec.channel != c.channel) continue;  // a shared stage (the ingest) is not the channel's to restart
        list += (list.empty() ? "" : ", ") + spec.stage;
        if (spec.stage != c.stage) continue;
        auto it = stages_.find(spec.id);
        if (it == stages_.end()) break;
        StageRuntime& s = *it->second;
        nlohmann::json prev = s.pid > 0 ? nlohmann::json(s.pid) : nlohmann::json(nullptr);
        spdlog::info("API: restarting {} (token '{}')", s.spec.id, c.token_name);
        if (s.state == StageState::kDown || s.state == StageState::kFailed) {
          s.tracker.reset();
          dispatch(s, StageEvent::kStart);
        } else {
          // Stopped, then started again by the pending spec, as a changed command is.
          s.pending = std::make_unique<StageSpec>(s.spec);
          dispatch(s, StageEvent::kStop);
        }
        emit("api.stage.restarted", c.channel, {{"stage", c.stage}, {"token", c.token_name}});
        return json_reply(202, {{"channel", c.channel}, {"stage", c.stage}, {"previous_pid", prev}});
      }
      return error_reply(404, "not_found", "channel '" + c.channel + "' has no stage '" + c.stage + "' of its own" +
                                               (list.empty() ? std::string(" (it is packaged inside the shared ingest)")
                                                             : " (its stages: " + list + ")"));
    }
    case api::Op::kRotateKey: {
      if (!cc) return not_found();
      if (cc->input_kind != InputKind::kPublish)
        return error_reply(409, "conflict", "channel '" + c.channel + "' does not take published input");
      if (g.keys.empty())
        return error_reply(409, "not_configured", "the config sets no [global] keys file: the shared ingest has no keys to rotate");
      auto old = read_file(g.keys);
      std::string secret = crypto::base64url_encode(crypto::random_bytes(24));
      std::string text = replace_key(old ? *old : "", c.channel, secret);
      if (Status w = write_file_durable(g.keys, text, 0600); !w.is_ok()) return error_reply(500, "internal", w.message());
      // The ingest re-reads its keys on SIGHUP: the next publish needs the new
      // key, a publisher already on stays on.
      if (auto it = stages_.find("ingest"); it != stages_.end()) request_reload(*it->second);
      spdlog::info("API: rotated the stream key of {} (token '{}')", c.channel, c.token_name);
      emit("api.key.rotated", c.channel, {{"token", c.token_name}});
      nlohmann::json j = {{"channel", c.channel}, {"key", secret}};
      if (g.rtmp != "off") j["publish_url"] = "rtmp://" + g.rtmp + "/live/" + secret;
      return json_reply(200, j);
    }
    case api::Op::kPlaybackUrl: {
      if (!cc) return not_found();
      if (!cc->signed_playback)
        return error_reply(409, "conflict", "channel '" + c.channel + "' is not playback = signed: its URLs need no token");
      if (g.playback_secret.empty())
        return error_reply(409, "not_configured", "the config sets no [global] playback_secret");
      int64_t ttl_s = 3600;
      if (c.body.contains("ttl")) {
        const auto& t = c.body["ttl"];
        auto ms = t.is_string() ? parse_duration_ms(t.get<std::string>())
                                : Result<int64_t>(t.get<int64_t>() * 1000);
        if (!ms || *ms < 1000 || *ms > int64_t{7} * 86400 * 1000)
          return error_reply(400, "bad_field", "field \"ttl\": a duration between 1s and 7d, like \"1h\"");
        ttl_s = *ms / 1000;
      }
      origin::PlaybackGrant grant;
      grant.channel = c.channel;
      grant.expires_unix_s = unix_ms_now() / 1000 + ttl_s;
      grant.ip = c.body.value("ip", "");
      grant.viewer = c.body.value("viewer", "");
      if (!grant.viewer.empty() && !origin::valid_viewer_id(grant.viewer))
        return error_reply(400, "bad_field", "field \"viewer\": 1 to 64 of letters, digits, '-', '_'");
      in6_addr a6;
      in_addr a4;
      if (!grant.ip.empty() && inet_pton(AF_INET, grant.ip.c_str(), &a4) != 1 &&
          inet_pton(AF_INET6, grant.ip.c_str(), &a6) != 1)
        return error_reply(400, "bad_field", "field \"ip\": an IPv4 or IPv6 address");
      auto secrets = origin::load_playback_secrets(g.playback_secret);
      if (!secrets) return error_reply(500, "internal", secrets.status().message());
      std::string token = origin::mint_playback_token(secrets->front(), grant);
      if (token.empty()) return error_reply(400, "bad_field", "the grant cannot be signed (address or viewer id)");
      std::string path = origin::signed_playback_path(c.channel, token);
      spdlog::info("API: minted a playback URL for {} valid {} s (token '{}')", c.channel, ttl_s, c.token_name);
      nlohmann::json j = {{"channel", c.channel}, {"path", path}, {"expires", iso8601_utc(grant.expires_unix_s * 1000)}};
      if (g.origin != "off") j["url"] = "http://" + g.origin + path;
      if (!grant.viewer.empty()) j["viewer"] = grant.viewer;
      if (!grant.ip.empty()) j["ip"] = grant.ip;
      return json_reply(200, j);
    }
    case api::Op::kOpenApi:
    case api::Op::kEvents: break;  // answered by the API server itself
  }
  return error_reply(500, "internal", "unexpected call");
}

}  // namespace sigma::supervisor
