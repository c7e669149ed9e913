#include "ingest/hls_config.h"

#include <cstdlib>
#include <sstream>

#include "av/slate.h"
#include "base/conf.h"
#include "base/log.h"
#include "ingest/keys.h"
#include "package/packager.h"

namespace sigma::ingest {

namespace {
Result<double> number(const std::string& key, const std::string& value) {
  char* end = nullptr;
  double d = std::strtod(value.c_str(), &end);
  if (value.empty() || *end != '\0') return usage_error(key + " wants a number, not '" + value + "'");
  return d;
}

// backup=KEY, backup-url=URL, slate=auto|off|FILE, failover-after=MS, failback-after=MS.
Status failover_key(FailoverSettings& f, const std::string& key, const std::string& value) {
  if (key == "backup") {
    if (value.empty()) return usage_error("backup wants the backup's stream key");
    f.backup_key = value;
  } else if (key == "backup-url") {
    auto sep = value.find("://");
    bool url = sep != std::string::npos && sep > 0 && sep + 3 < value.size();
    bool path = !value.empty() && value[0] == '/';
    if ((!url && !path) || value.find_first_of(" \t") != std::string::npos)
      return usage_error("backup-url wants a URL like rtmp://host/app/key or srt://host:port, or an absolute path; "
                         "got '" + redact_url(value) + "'");
    f.backup_url = value;
  } else if (key == "slate") {
    if (value.empty()) return usage_error("slate wants auto, off or a picture/clip file");
    f.slate = value;
  } else {
    auto ms = parse_duration_ms(value);
    if (!ms || *ms < 100 || *ms > 600000)
      return usage_error(key + " wants a duration between 100ms and 10m, like 1500ms, got '" + value + "'");
    (key == "failover-after" ? f.failover_after_ms : f.failback_after_ms) = *ms;
  }
  return {};
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r"), e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}
}  // namespace

Result<HlsConfig> HlsConfig::make(const std::string& dir_template, const std::vector<std::string>& channel_specs,
                                  const package::PackageParams& defaults) {
  HlsConfig c;
  c.dir_template_ = dir_template;
  c.defaults_ = defaults;
  if (!dir_template.empty()) {
    // Checked once here so that a bad --mode is a usage error at start,
    // not a refused publisher later.
    package::PackageParams probe = defaults;
    probe.out_dir = dir_template;
    SIGMA_RETURN_IF_ERROR_CTX(package::resolve_params(probe), "--hls");
  }
  for (const auto& spec : channel_specs) SIGMA_RETURN_IF_ERROR(c.add(spec, "--hls-channel '" + spec + "'", true));
  return c;
}

Result<HlsConfig> HlsConfig::with_file(const std::string& text, const std::string& origin) const {
  HlsConfig c = *this;
  std::istringstream in(text);
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    line = trim(line);
    if (!line.empty()) SIGMA_RETURN_IF_ERROR(c.add(line, origin + ":" + std::to_string(lineno), false));
  }
  return c;
}

Status HlsConfig::add(const std::string& spec, const std::string& where, bool dir_required) {
  size_t comma = spec.find(',');
  std::string head = spec.substr(0, comma);
  size_t eq = head.find('=');
  if (eq == std::string::npos && dir_required) return usage_error(where + ": want NAME=DIR[,key=value...]");
  std::string name = head.substr(0, eq);
  if (!valid_channel_name(name)) return usage_error(where + ": bad channel name '" + name + "'");
  if (channels_.count(name)) return usage_error(where + ": channel '" + name + "' given twice");
  package::PackageParams p = defaults_;
  p.channel = name;
  if (eq != std::string::npos) {
    p.out_dir = head.substr(eq + 1);
    if (p.out_dir.empty()) return usage_error(where + ": no directory");
  }
  Route r;
  while (comma != std::string::npos) {
    size_t pos = comma + 1;
    comma = spec.find(',', pos);
    std::string kv = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    size_t e = kv.find('=');
    std::string key = kv.substr(0, e), value = e == std::string::npos ? "" : kv.substr(e + 1);
    if (key == "record") {
      if (value.empty()) return usage_error(where + ": record wants a directory");
      r.record_dir = value;
    } else if (key == "backup" || key == "backup-url" || key == "slate" || key == "failover-after" ||
               key == "failback-after") {
      if (!r.failover) r.failover = FailoverSettings();
      SIGMA_RETURN_IF_ERROR_CTX(failover_key(*r.failover, key, value), where);
    } else if (p.out_dir.empty()) {
      return usage_error(where + ": '" + key + "' is an HLS setting: give the directory (NAME=DIR)");
    } else if (key == "keep") {
      // sigma-package --keep: segments that leave the window stay (an
      // archive, sigma-dvr, deletes them).
      if (value != "" && value != "yes" && value != "no") return usage_error(where + ": keep wants yes or no");
      p.keep = value != "no";
    } else if (key == "mode") {
      p.mode = value;
    } else if (key == "audio") {
      p.audio = value;
    } else if (key == "segment-duration" || key == "part-duration" || key == "window") {
      SIGMA_ASSIGN_OR_RETURN(double d, number(where + ": " + key, value));
      if (key == "window") {
        if (d < 0 || d != static_cast<int>(d)) return usage_error(where + ": window wants a count of segments");
        p.window = static_cast<int>(d);
      } else {
        (key == "segment-duration" ? p.segment_duration : p.part_duration) = d;
      }
    } else {
      return usage_error(where + ": unknown setting '" + key +
                         "' (mode, segment-duration, part-duration, window, audio, keep, record, backup, backup-url, slate, "
                         "failover-after, failback-after)");
    }
  }
  if (r.failover) {
    const FailoverSettings& f = *r.failover;
    if (!f.backup_key.empty() && !f.backup_url.empty())
      return usage_error(where + ": give backup (a stream key) or backup-url, not both");
    if (f.backup_key == name)
      return usage_error(where + ": the backup's stream key is the channel's own (the primary's)");
    for (auto& [other, route] : channels_)
      if (route.failover && !f.backup_key.empty() && route.failover->backup_key == f.backup_key)
        return usage_error(where + ": channel '" + other + "' has the same backup stream key");
    if (f.slate != "auto" && f.slate != "off") SIGMA_RETURN_IF_ERROR_CTX(av::check_slate_file(f.slate), where);
  }
  if (!p.out_dir.empty()) {
    SIGMA_RETURN_IF_ERROR_CTX(package::resolve_params(p), where);
    r.hls = std::move(p);
  }
  channels_.emplace(name, std::move(r));
  return {};
}

std::optional<FailoverSettings> HlsConfig::failover(const std::string& name) const {
  auto it = channels_.find(name);
  if (it == channels_.end()) return std::nullopt;
  return it->second.failover;
}

std::optional<std::string> HlsConfig::backup_channel(const std::string& key) const {
  if (key.empty()) return std::nullopt;
  for (auto& [name, route] : channels_)
    if (route.failover && route.failover->backup_key == key) return name;
  return std::nullopt;
}

std::vector<std::string> HlsConfig::pulled_backups() const {
  std::vector<std::string> out;
  for (auto& [name, route] : channels_)
    if (route.failover && !route.failover->backup_url.empty()) out.push_back(name);
  return out;
}

std::optional<package::PackageParams> HlsConfig::for_channel(const std::string& name) const {
  auto it = channels_.find(name);
  if (it != channels_.end() && it->second.hls) return it->second.hls;
  if (dir_template_.empty()) return std::nullopt;
  package::PackageParams p = defaults_;
  p.channel = name;
  p.out_dir = dir_template_;
  for (size_t pos; (pos = p.out_dir.find("{channel}")) != std::string::npos;) p.out_dir.replace(pos, 9, name);
  if (!package::resolve_params(p).is_ok()) return std::nullopt;  // checked in make()
  return p;
}

std::string HlsConfig::record_dir(const std::string& name, const std::string& fallback) const {
  auto it = channels_.find(name);
  return it != channels_.end() && !it->second.record_dir.empty() ? it->second.record_dir : fallback;
}

std::string HlsConfig::describe(const std::string& name) const {
  std::ostringstream o;
  if (auto p = for_channel(name))
    o << "hls " << p->out_dir << ' ' << p->mode << ' ' << p->segment_duration << ' ' << p->part_duration << ' '
      << p->window << ' ' << p->audio << (p->keep ? " keep" : "");
  else
    o << "ts";
  if (auto f = failover(name)) o << ' ' << f->describe();
  return o.str();
}

}  // namespace sigma::ingest
