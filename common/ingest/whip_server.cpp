// The event loop's WHIP endpoint: made from the command line's --whip
// options, its eventfd polled with the loop's other sources.
#include <sys/epoll.h>

#include "base/log.h"
#include "ingest/server_state.h"

namespace sigma::ingest::detail {

Status Server::start_whip() {
  WhipParams wp;
  wp.listen = p_.whip_listen;
  if (!p_.whip_udp.empty()) SIGMA_RETURN_IF_ERROR(parse_whip_udp(p_.whip_udp, wp));
  wp.keyframe_interval_s = p_.whip_keyframe_interval;
  wp.timeout_s = p_.timeout_s;
  wp.open_mode = p_.open_mode;
  auto authorize = [this](const std::string& key) {
    SrtVerdict v;
    auto name = resolve(key, v.reason, v.busy);
    v.ok = name.has_value();
    if (name) v.channel = *name;
    return v;
  };
  // The keyframe interval: the segment duration of an in-process HLS
  // channel (keyframes must fall on its cuts), else 2 s, a divisor of every
  // mode's segments downstream.
  auto interval = [this](const std::string& channel) {
    auto hls = routes()->for_channel(channel);
    return hls && hls->segment_duration > 0 ? hls->segment_duration : 2.0;
  };
  whip_ = std::make_unique<WhipIngest>(wp, *this, inbox_, authorize, [this] { return next_id_++; }, interval);
  SIGMA_RETURN_IF_ERROR(whip_->start());
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kTagWhip;
  if (epoll_ctl(epfd_, EPOLL_CTL_ADD, whip_->fd(), &ev) < 0) return errno_error("epoll_ctl", errno);
  return {};
}

}  // namespace sigma::ingest::detail
