#include "origin/playback_auth.h"

#include <algorithm>
#include <cctype>

#include "base/fs.h"

namespace sigma::origin {
namespace {

bool valid_channel(std::string_view n) {
  if (n.empty() || n.size() > 64 || n[0] == '.' || n[0] == '-' || n[0] == '_') return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// One name: "all" or a channel.
Status add_name(std::string_view name, bool& all, std::set<std::string, std::less<>>& out, const std::string& where) {
  if (name == "all") {
    all = true;
    return {};
  }
  if (!valid_channel(name))
    return usage_error(where + ": '" + std::string(name) + "' is no channel name (letters, digits, '-', '_', '.')");
  out.emplace(name);
  return {};
}

}  // namespace

Result<std::unique_ptr<PlaybackAuth>> PlaybackAuth::open(const PlaybackAuthParams& p) {
  std::unique_ptr<PlaybackAuth> a(new PlaybackAuth(p));
  SIGMA_ASSIGN_OR_RETURN(auto st, a->read());
  a->state_ = std::move(st);
  return a;
}

Result<std::shared_ptr<const PlaybackAuth::State>> PlaybackAuth::read() const {
  auto st = std::make_shared<State>();
  std::string_view list = p_.signed_channels;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view name = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (name.empty()) continue;
    SIGMA_RETURN_IF_ERROR(add_name(name, st->all, st->channels, "--signed"));
  }
  if (!p_.signed_file.empty()) {
    auto text = read_file(p_.signed_file);
    if (!text) return usage_error("--signed-file " + p_.signed_file + ": " + text.status().message());
    std::string_view s = *text;
    int line_no = 0;
    while (!s.empty()) {
      size_t nl = s.find('\n');
      std::string_view line = trim(s.substr(0, nl));
      s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
      ++line_no;
      if (line.empty() || line[0] == '#') continue;
      SIGMA_RETURN_IF_ERROR(add_name(line, st->all, st->channels, p_.signed_file + ":" + std::to_string(line_no)));
    }
  }
  if (!p_.secret_file.empty()) {
    SIGMA_ASSIGN_OR_RETURN(st->secrets, load_playback_secrets(p_.secret_file));
  } else if (st->all || !st->channels.empty()) {
    return usage_error("signed channels need --playback-secret FILE");
  }
  return std::shared_ptr<const State>(std::move(st));
}

Status PlaybackAuth::reload() {
  SIGMA_ASSIGN_OR_RETURN(auto st, read());
  std::lock_guard lock(mu_);
  state_ = std::move(st);
  return {};
}

std::shared_ptr<const PlaybackAuth::State> PlaybackAuth::state() const {
  std::lock_guard lock(mu_);
  return state_;
}

bool PlaybackAuth::is_signed(std::string_view channel) const {
  auto st = state();
  return st->all || st->channels.count(channel) > 0;
}

TokenCheck PlaybackAuth::check(std::string_view token, std::string_view channel, std::string_view client_ip,
                               int64_t now_unix_s) const {
  auto st = state();
  if (st->secrets.empty()) return {};
  return check_playback_token(st->secrets, token, channel, client_ip, now_unix_s);
}

std::string PlaybackAuth::describe() const {
  auto st = state();
  std::string who = st->all ? "all channels" : std::to_string(st->channels.size()) + " channel(s)";
  return "signed playback: " + who + ", " + std::to_string(st->secrets.size()) + " secret(s)";
}

std::string client_address(std::string_view c) {
  if (!c.empty() && c[0] == '[') {
    size_t close = c.find(']');
    return std::string(close == std::string_view::npos ? c : c.substr(1, close - 1));
  }
  size_t colon = c.rfind(':');
  return std::string(colon == std::string_view::npos ? c : c.substr(0, colon));
}

std::string signed_cache_control(std::string_view cc, int64_t remaining_s, bool address_bound) {
  bool is_public = false, immutable = false, has_age = false;
  int64_t age = 0;
  std::string others;
  while (!cc.empty()) {
    size_t comma = cc.find(',');
    std::string_view d = trim(cc.substr(0, comma));
    cc = comma == std::string_view::npos ? std::string_view() : cc.substr(comma + 1);
    if (d.empty()) continue;
    if (d == "public" || d == "private") {
      is_public = d == "public";
    } else if (d == "immutable") {
      immutable = true;
    } else if (d.substr(0, 8) == "max-age=") {
      has_age = true;
      age = 0;
      for (char ch : d.substr(8))
        if (ch >= '0' && ch <= '9') age = std::min<int64_t>(age * 10 + (ch - '0'), 1LL << 40);
    } else {
      if (!others.empty()) others += ", ";
      others.append(d);
    }
  }
  remaining_s = std::max<int64_t>(remaining_s, 0);
  std::string out;
  if (is_public || has_age) out = address_bound ? "private" : "public";
  else if (address_bound) out = "private";
  if (has_age) {
    bool capped = age > remaining_s;
    out += ", max-age=" + std::to_string(capped ? remaining_s : age);
    if (immutable && !capped) out += ", immutable";
  }
  if (!others.empty()) out += (out.empty() ? "" : ", ") + others;
  return out.empty() ? "no-cache" : out;
}

}  // namespace sigma::origin
