#pragma once
// Stream keys. The keys file holds one "CHANNEL SECRET" pair per line
// ('#' starts a comment); a publisher's stream key is the secret and
// selects the channel. In open mode (development) the key is the channel.
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace sigma::ingest {

// Channel names end up in paths and URLs: [A-Za-z0-9_.-], 1..64 chars,
// not starting with a dot.
bool valid_channel_name(const std::string& name);

class KeyStore {
 public:
  static Result<KeyStore> load(const std::string& path);
  static Result<KeyStore> parse(const std::string& text, const std::string& origin);
  // The channel the secret opens, if any.
  std::optional<std::string> channel_for(const std::string& secret) const;
  std::vector<std::string> channels() const;

 private:
  std::unordered_map<std::string, std::string> by_secret_;
};

}  // namespace sigma::ingest
