#include "ingest/hls_config.h"

#include <cstdlib>

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
  for (const auto& spec : channel_specs) {
    std::string where = "--hls-channel '" + spec + "'";
    size_t eq = spec.find('=');
    if (eq == std::string::npos) return usage_error(where + ": want NAME=DIR[,key=value...]");
    std::string name = spec.substr(0, eq);
    if (!valid_channel_name(name)) return usage_error(where + ": bad channel name '" + name + "'");
    if (c.channels_.count(name)) return usage_error(where + ": channel '" + name + "' given twice");
    package::PackageParams p = defaults;
    p.channel = name;
    size_t pos = eq + 1, comma = spec.find(',', pos);
    p.out_dir = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    while (comma != std::string::npos) {
      pos = comma + 1;
      comma = spec.find(',', pos);
      std::string kv = spec.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      size_t e = kv.find('=');
      std::string key = kv.substr(0, e), value = e == std::string::npos ? "" : kv.substr(e + 1);
      if (key == "mode") {
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
        return usage_error(where + ": unknown setting '" + key + "' (mode, segment-duration, part-duration, window, audio)");
      }
    }
    if (p.out_dir.empty()) return usage_error(where + ": no directory");
    SIGMA_RETURN_IF_ERROR_CTX(package::resolve_params(p), where);
    c.channels_.emplace(name, std::move(p));
  }
  return c;
}

std::optional<package::PackageParams> HlsConfig::for_channel(const std::string& name) const {
  auto it = channels_.find(name);
  if (it != channels_.end()) return it->second;
  if (dir_template_.empty()) return std::nullopt;
  package::PackageParams p = defaults_;
  p.channel = name;
  p.out_dir = dir_template_;
  for (size_t pos; (pos = p.out_dir.find("{channel}")) != std::string::npos;) p.out_dir.replace(pos, 9, name);
  if (!package::resolve_params(p).is_ok()) return std::nullopt;  // checked in make()
  return p;
}

}  // namespace sigma::ingest
