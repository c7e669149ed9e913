#pragma once
// A channel's failover keys in the supervisor's config (sigma-supervisor(5),
// FAILOVER): backup, slate, failover_after, failback_after, checked at
// config time so that a bad slate or a backup key that is the primary's is
// exit 100 here, not a channel that never fails over.
#include <string>

#include "base/status.h"

namespace sigma::supervisor {

struct ChannelConfig;
struct Config;

// true when key is one of them (its value set on ch), false when it is not.
Result<bool> failover_key(ChannelConfig& ch, const std::string& key, const std::string& value, int line);
// The whole config's failover settings: errors name the file and line.
Status check_failover(const Config& cfg);
// The channel's settings as sigma-ingest's --channels spec takes them
// (",backup=KEY,slate=auto,..."); empty without failover.
std::string failover_spec(const ChannelConfig& ch);

}  // namespace sigma::supervisor
