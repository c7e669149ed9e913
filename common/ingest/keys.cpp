#include "ingest/keys.h"

#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <sstream>

#include "base/fs.h"
#include "base/log.h"

namespace sigma::ingest {

bool valid_channel_name(const std::string& name) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
           c == '.';
  });
}

Result<KeyStore> KeyStore::load(const std::string& path) {
  auto text = read_file(path);
  if (!text.is_ok()) return usage_error("read keys file: " + text.status().message());
  struct stat sb;
  if (::stat(path.c_str(), &sb) == 0 && (sb.st_mode & S_IROTH))
    spdlog::warn("keys file {} is world-readable; chmod 600 it", path);
  return parse(*text, path);
}

Result<KeyStore> KeyStore::parse(const std::string& text, const std::string& origin) {
  KeyStore ks;
  std::istringstream in(text);
  std::string line;
  int lineno = 0;
  std::set<std::string> seen_channels;
  while (std::getline(in, line)) {
    ++lineno;
    if (auto h = line.find('#'); h != std::string::npos) line.resize(h);
    std::istringstream ls(line);
    std::string channel, secret, extra;
    if (!(ls >> channel)) continue;
    std::string where = origin + ":" + std::to_string(lineno);
    if (!(ls >> secret)) return usage_error(where + ": expected 'CHANNEL SECRET'");
    if (ls >> extra) return usage_error(where + ": extra text after the secret");
    if (!valid_channel_name(channel))
      return usage_error(where + ": bad channel name (use letters, digits, '_', '-', '.')");
    if (secret.size() < 8) return usage_error(where + ": secret shorter than 8 characters");
    if (!seen_channels.insert(channel).second) return usage_error(where + ": channel '" + channel + "' listed twice");
    if (!ks.by_secret_.emplace(secret, channel).second) return usage_error(where + ": secret used twice");
  }
  return ks;
}

std::optional<std::string> KeyStore::channel_for(const std::string& secret) const {
  auto it = by_secret_.find(secret);
  if (it == by_secret_.end()) return std::nullopt;
  return it->second;
}

std::vector<std::string> KeyStore::channels() const {
  std::vector<std::string> v;
  for (const auto& [s, c] : by_secret_) v.push_back(c);
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace sigma::ingest
