#include "ingest/restream_config.h"

#include <sstream>

#include "base/push_url.h"
#include "ingest/keys.h"

namespace sigma::ingest {

Status RestreamConfig::add(const std::string& spec, const std::string& where) {
  auto eq = spec.find('=');
  std::string head = spec.substr(0, eq);
  auto dot = head.rfind('.');
  if (eq == std::string::npos || dot == std::string::npos || dot == 0)
    return usage_error(where + ": want CHANNEL.NAME=URL");
  std::string channel = head.substr(0, dot), name = head.substr(dot + 1);
  if (!valid_channel_name(channel)) return usage_error(where + ": bad channel name '" + channel + "'");
  if (!valid_push_target_name(name))
    return usage_error(where + ": bad restream target name '" + name + "' (letters, digits, '-', '_'; up to 32)");
  std::string url = spec.substr(eq + 1);
  SIGMA_RETURN_IF_ERROR_CTX(parse_push_url(url).status(), where + ": channel " + channel + " target " + name);
  auto& list = by_channel_[channel];
  for (auto& t : list)
    if (t.name == name) return usage_error(where + ": channel " + channel + " has restream target '" + name + "' twice");
  list.push_back({name, url});
  return {};
}

Result<std::string> RestreamConfig::take_from(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line, rest;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    size_t b = line.find_first_not_of(" \t");
    if (b != std::string::npos && line.compare(b, 9, "restream ") == 0) {
      std::string spec = line.substr(b + 9);
      size_t s = spec.find_first_not_of(" \t"), e = spec.find_last_not_of(" \t\r");
      spec = s == std::string::npos ? "" : spec.substr(s, e - s + 1);
      SIGMA_RETURN_IF_ERROR(add(spec, origin + ":" + std::to_string(lineno)));
      rest += "\n";
      continue;
    }
    rest += line + "\n";
  }
  return rest;
}

std::vector<RestreamSpec> RestreamConfig::for_channel(const std::string& name) const {
  auto it = by_channel_.find(name);
  return it == by_channel_.end() ? std::vector<RestreamSpec>{} : it->second;
}

}  // namespace sigma::ingest
