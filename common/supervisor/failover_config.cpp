#include "supervisor/failover_config.h"

#include <map>

#include "av/slate.h"
#include "base/conf.h"
#include "base/fs.h"
#include "base/log.h"
#include "supervisor/config.h"

namespace sigma::supervisor {

namespace {
// The keys file's CHANNEL SECRET pairs, when it can be read now.
std::multimap<std::string, std::string> read_keys(const std::string& path) {
  std::multimap<std::string, std::string> out;
  auto text = read_file(path);
  if (!text) return out;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t nl = text->find('\n', pos);
    std::string line = text->substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    pos = nl == std::string::npos ? text->size() : nl + 1;
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    auto words = split_words(line);
    if (words && words->size() == 2) out.emplace((*words)[0], (*words)[1]);
  }
  return out;
}

bool spec_safe(const std::string& v) { return v.find_first_of(", \t#") == std::string::npos; }
}  // namespace

Result<bool> failover_key(ChannelConfig& ch, const std::string& key, const std::string& v, int line) {
  if (key != "backup" && key != "slate" && key != "failover_after" && key != "failback_after") return false;
  if (ch.failover_line == 0) ch.failover_line = line;
  if (key == "backup") {
    auto sp = v.find_first_of(" \t");
    std::string first = v.substr(0, sp);
    if (first == "pull") {
      std::string url = sp == std::string::npos ? "" : conf_trim(v.substr(sp));
      auto sep = url.find("://");
      bool ok = (sep != std::string::npos && sep > 0 && sep + 3 < url.size()) || (!url.empty() && url[0] == '/');
      if (!ok || !spec_safe(url))
        return usage_error("backup = pull URL: expected a URL like rtmp://host/app/key or srt://host:port (no "
                           "commas or blanks), or an absolute path; got '" + redact_url(url) + "'");
      ch.backup_url = url;
      ch.backup_key.clear();
      return true;
    }
    if (v.empty() || !spec_safe(v))
      return usage_error("backup: expected the backup encoder's stream key (no commas or blanks) or 'pull URL'");
    ch.backup_key = v;
    ch.backup_url.clear();
    return true;
  }
  if (key == "slate") {
    if (v.empty() || !spec_safe(v))
      return usage_error("slate: expected auto, off or a picture/clip file (a path without commas or blanks)");
    ch.slate = v;
    return true;
  }
  auto ms = parse_duration_ms(v);
  if (!ms || *ms < 100 || *ms > 600000)
    return usage_error(key + ": expected a duration between 100ms and 10m, like " +
                       (key == "failover_after" ? "1500ms" : "5s") + ", got '" + v + "'");
  (key == "failover_after" ? ch.failover_after_ms : ch.failback_after_ms) = *ms;
  return true;
}

Status check_failover(const Config& cfg) {
  std::multimap<std::string, std::string> keys;
  if (!cfg.global.keys.empty()) keys = read_keys(cfg.global.keys);
  std::map<std::string, std::string> backup_keys;  // key -> channel
  for (const auto& ch : cfg.channels) {
    if (!ch.failover()) continue;
    auto error = [&](const std::string& msg) {
      return conf_error(ch.file.empty() ? cfg.path : ch.file, ch.failover_line, msg);
    };
    if (ch.input_kind != InputKind::kPublish)
      return error("channel '" + ch.name + "': backup and slate take published input (input = publish)");
    if (!ch.backup_key.empty()) {
      // Never the key in a message: it is a secret.
      if (ch.backup_key == ch.name)
        return error("channel '" + ch.name + "': the backup key is the channel's own stream key (the primary's)");
      for (auto& [chan, secret] : keys)
        if (secret == ch.backup_key)
          return error(chan == ch.name
                           ? "channel '" + ch.name + "': the backup key is the channel's own stream key (the primary's, in " + cfg.global.keys + ")"
                           : "channel '" + ch.name + "': the backup key is channel '" + chan + "''s stream key in " +
                                 cfg.global.keys);
      for (const auto& other : cfg.channels)
        if (other.name == ch.backup_key && &other != &ch)
          return error("channel '" + ch.name + "': the backup key is channel '" + other.name + "''s name, its open key");
      auto [it, fresh] = backup_keys.emplace(ch.backup_key, ch.name);
      if (!fresh) return error("channel '" + ch.name + "': channel '" + it->second + "' has the same backup key");
    }
    if (!ch.slate.empty() && ch.slate != "auto" && ch.slate != "off") {
      Status st = av::check_slate_file(ch.slate);
      if (!st.is_ok()) return error("channel '" + ch.name + "': " + st.message());
    }
  }
  return {};
}

std::string failover_spec(const ChannelConfig& ch) {
  if (!ch.failover()) return "";
  std::string s;
  if (!ch.backup_key.empty()) s += ",backup=" + ch.backup_key;
  if (!ch.backup_url.empty()) s += ",backup-url=" + ch.backup_url;
  s += ",slate=" + (ch.slate.empty() ? std::string("auto") : ch.slate);
  if (ch.failover_after_ms > 0) s += ",failover-after=" + std::to_string(ch.failover_after_ms) + "ms";
  if (ch.failback_after_ms > 0) s += ",failback-after=" + std::to_string(ch.failback_after_ms) + "ms";
  return s;
}

}  // namespace sigma::supervisor
