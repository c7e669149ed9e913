// SIGHUP in sigma-ingest: new keys and channel routes without a restart.
// Publishers of channels whose routing did not change never notice.
#include <vector>

#include "base/fs.h"
#include "base/log.h"
#include "ingest/server_state.h"

namespace sigma::ingest::detail {

Result<std::shared_ptr<const HlsConfig>> Server::load_routes(std::shared_ptr<const RestreamConfig>* restream) const {
  HlsConfig routes = *cli_routes_;
  RestreamConfig targets = cli_restream_;
  if (!p_.channels_file.empty()) {
    auto text = read_file(p_.channels_file);
    if (!text.is_ok()) return usage_error("read channels file: " + text.status().message());
    SIGMA_ASSIGN_OR_RETURN(std::string rest, targets.take_from(*text, p_.channels_file));
    SIGMA_ASSIGN_OR_RETURN(routes, cli_routes_->with_file(rest, p_.channels_file));
  }
  if (restream) *restream = std::make_shared<const RestreamConfig>(std::move(targets));
  for (size_t i = 0; i < p_.inputs.size(); ++i) {
    std::string name = i < p_.channels.size() ? p_.channels[i] : "default";
    if (routes.for_channel(name))
      return usage_error("channel " + name + ": -i inputs go to --output; in-process HLS takes RTMP publishers");
  }
  return std::make_shared<const HlsConfig>(std::move(routes));
}

void Server::reload() {
  auto fail = [&](const Status& st) {
    spdlog::error("reload refused, keeping the previous keys and channels: {}", st.message());
    events_.emit("config.rejected", "", {{"reason", st.message()}});
  };
  std::shared_ptr<const KeyStore> keys = keys_;
  if (!p_.keys_file.empty()) {
    auto ks = KeyStore::load(p_.keys_file);
    if (!ks.is_ok()) return fail(ks.status());
    keys = std::make_shared<const KeyStore>(std::move(*ks));
  }
  std::shared_ptr<const RestreamConfig> restream;
  auto routes = load_routes(&restream);
  if (!routes.is_ok()) return fail(routes.status());

  // Channels whose output changes start over; those whose recording
  // changes only lose their publisher, who reconnects into a new file.
  std::vector<std::pair<std::string, bool>> changed;  // name, output changed
  for (auto& [name, ch] : channels_) {
    if (ch->live && pull_ids_.count(ch->owner)) continue;  // -i inputs keep their --output
    // With --listed-only, a channel taken out of the file is done with: its
    // publisher goes and its output is closed, as for a new output.
    bool output = routes_->describe(name) != (*routes)->describe(name) ||
                  (p_.listed_only && routes_->listed(name) && !(*routes)->listed(name));
    if (output || routes_->record_dir(name, p_.record_dir) != (*routes)->record_dir(name, p_.record_dir))
      changed.emplace_back(name, output);
  }
  {
    std::lock_guard lk(live_mu_);
    keys_ = std::move(keys);
    routes_ = std::move(*routes);
  }
  nlohmann::json names = nlohmann::json::array();
  for (auto& [name, output] : changed) {
    retire_channel(name, output);
    names.push_back(name);
  }
  // Restream targets change in place: the channel and its other targets
  // go on untouched.
  restream_ = std::move(restream);
  for (auto& [name, ch] : channels_)
    if (ch->restream) ch->restream->configure(restream_->for_channel(name));
  spdlog::info("reloaded keys and channels; {} channel(s) restarted", changed.size());
  events_.emit("config.reloaded", "", {{"restarted", names}});
}

void Server::retire_channel(const std::string& name, bool output_changed) {
  auto it = channels_.find(name);
  Channel& ch = *it->second;
  spdlog::info("channel {}: {} changed", name, output_changed ? "output" : "recording");
  if (ch.live) kick(ch, "channel reconfigured");
  if (!output_changed) return;
  // The playlists end as at shutdown; the next publisher starts the
  // channel over under its new settings.
  if (ch.failover) {
    // The backup publisher writes into the switch that goes with the channel.
    if (uint64_t b = ch.failover->backup_source; b && conns_.count(b)) {
      conns_[b]->end("channel reconfigured");
      close_connection(b, "channel reconfigured");
    }
    ch.failover->close();
  }
  if (ch.hls) ch.hls->close();
  channels_.erase(it);
}

}  // namespace sigma::ingest::detail
