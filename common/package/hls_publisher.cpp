#include "package/hls_publisher.h"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <cstdlib>

#include "base/fs.h"
#include "base/log.h"
#include "package/naming.h"

namespace sigma::package {

namespace {
// CAN-SKIP-UNTIL must be at least six target durations (RFC 8216bis 4.4.3.8).
constexpr int kSkipTargets = 6;
// PART-HOLD-BACK: at least three part targets (issue 4 and the RFC's advice).
constexpr double kPartHoldBackTargets = 3.0;
// BANDWIDTH is written this much above the measured peak, so that the
// master is not rewritten for every new peak a little above the last one;
// whenever the measured peak passes what is written, it is rewritten at
// once (BANDWIDTH must never understate the peak), and when what is
// written is this much above what it would now be (an early estimate,
// from the first parts), it is lowered.
constexpr int64_t kBandwidthHeadroomPercent = 5;
constexpr double kBandwidthSlack = 0.10;
// AVERAGE-BANDWIDTH is rewritten when it moves this much: players read
// the master once, rewriting on every segment buys little.
constexpr double kAverageSlack = 0.02;
// EVENT playlists (--window 0): parts of segments this many segments from
// the end are deleted (they stopped being listed long before).
constexpr size_t kPartGraceSegments = 12;

// Normal and low playlists offer delta updates (CAN-SKIP-UNTIL) only when
// their window is more than twice the skip boundary (a DVR window, or all
// of an EVENT playlist): with the default windows a delta would skip a
// few segments at most, and those playlists stay as they were.
constexpr int kLongWindowSegments = 2 * kSkipTargets;
bool long_window(int window) { return window == 0 || window > kLongWindowSegments; }

bool differs(int64_t a, int64_t b, double slack) {
  if (a == 0 || b == 0) return a != b;
  return std::abs(static_cast<double>(a - b)) > slack * static_cast<double>(b);
}
}  // namespace

HlsPublisher::HlsPublisher(PublisherParams p, std::vector<TrackInfo> tracks) : p_(std::move(p)) {
  for (auto& info : tracks) {
    State s;
    s.info = info;
    hls::MediaPlaylist& pl = s.playlist;
    pl.target_duration = p_.target_duration;
    pl.next_msn = p_.first_msn;
    pl.discontinuity_sequence = p_.discontinuity_sequence;
    if (p_.window == 0) pl.playlist_type = "EVENT";
    if (p_.part_target > 0) {
      // Version 9: the origin derives delta updates (EXT-X-SKIP) from this
      // playlist without having to rewrite the version.
      pl.version = 9;
      hls::LowLatency ll;
      ll.part_target = p_.part_target;
      // Three times the PART-TARGET as printed (rounded up), not as held.
      ll.part_hold_back = kPartHoldBackTargets * std::stod(hls::format_decimal(p_.part_target, 5, true));
      ll.can_skip_until = kSkipTargets * p_.target_duration;
      pl.low_latency = ll;
    } else if (long_window(p_.window)) {
      pl.can_skip_until = kSkipTargets * p_.target_duration;
    }
    tracks_.push_back(std::move(s));
  }
  target_known_ = p_.target_duration > 0;
}

Status HlsPublisher::on_target_duration(int target) {
  if (target_known_ || target <= 0) return {};
  target_known_ = true;
  p_.target_duration = target;
  for (State& s : tracks_) {
    s.playlist.target_duration = target;
    if (s.playlist.low_latency) s.playlist.low_latency->can_skip_until = kSkipTargets * target;
    else if (long_window(p_.window)) s.playlist.can_skip_until = kSkipTargets * target;
  }
  for (size_t i = 0; i < tracks_.size(); ++i) {
    const State& s = tracks_[i];
    bool parts = s.playlist.low_latency && !s.playlist.low_latency->pending_parts.empty();
    if (!s.playlist.segments.empty() || parts) SIGMA_RETURN_IF_ERROR(write_media(i));
  }
  return maybe_write_master(false);
}

Status HlsPublisher::on_init(const InitReport& r) {
  State& s = tracks_.at(r.track);
  s.codecs = r.codecs;
  s.width = r.width;
  s.height = r.height;
  s.channels = r.channels;
  return {};
}

Status HlsPublisher::on_part(const PartReport& r) {
  State& s = tracks_.at(r.track);
  if (!s.playlist.low_latency) return {};
  hls::LowLatency& ll = *s.playlist.low_latency;
  if (s.pending_msn != r.msn) {
    ll.pending_parts.clear();
    s.pending_msn = r.msn;
    ll.pending_discontinuity = r.discontinuity;
    ll.pending_map_uri = r.map_uri;
    ll.pending_program_date_time_ms = r.program_date_time_ms;
  }
  if (ll.pending_parts.empty()) s.stats.part_bytes = 0, s.stats.part_seconds = 0;
  ll.pending_parts.push_back({r.duration, r.uri, r.independent});
  s.stats.part_bytes += static_cast<int64_t>(r.bytes);
  s.stats.part_seconds += r.duration;
  ll.preload_hint_uri = r.last_in_segment ? part_name(p_.segment_prefix, r.msn + 1, 0)
                                          : part_name(p_.segment_prefix, r.msn, r.index + 1);
  // The last part is published together with its segment's EXTINF.
  if (r.last_in_segment || !target_known_) return {};
  SIGMA_RETURN_IF_ERROR(write_media(r.track));
  return maybe_write_master(false);
}

Status HlsPublisher::on_segment(const SegmentReport& r) {
  State& s = tracks_.at(r.track);
  hls::MediaPlaylist& pl = s.playlist;
  hls::Segment seg;
  seg.msn = r.msn;
  seg.duration = r.duration;
  seg.uri = r.uri;
  seg.map_uri = r.map_uri;
  seg.discontinuity = r.discontinuity;
  seg.gap = r.gap;
  seg.program_date_time_ms = r.program_date_time_ms;
  if (pl.low_latency) {
    hls::LowLatency& ll = *pl.low_latency;
    if (s.pending_msn == r.msn && r.gap && !ll.pending_parts.empty()) {
      // A segment lost to a failed write: the parts published before the
      // failure are unlisted now; their files go a window later, as a
      // retired segment's do.
      std::vector<std::string> files;
      for (auto& part : ll.pending_parts) files.push_back(part.uri);
      s.retired.emplace_back(r.msn, std::move(files));
    } else if (s.pending_msn == r.msn) {
      seg.parts = std::move(ll.pending_parts);
    }
    ll.pending_parts.clear();
    s.pending_msn = -1;
    ll.pending_discontinuity = false;
    ll.preload_hint_uri = part_name(p_.segment_prefix, r.msn + 1, 0);
  }
  // The segmenter keeps every segment within the target, which never
  // changes within a playlist's life (RFC 8216bis 6.2.1). A segment may
  // come before the target is known (another rung's first cut lands before
  // the reference track's second keyframe): the target it settles on
  // covers it.
  if (target_known_ && std::lround(r.duration) > pl.target_duration)
    spdlog::error("{}: segment {} lasts {:.3f} s, over the {} s target duration", s.info.name, r.msn, r.duration,
                  pl.target_duration);
  if (!r.independent && !r.gap && pl.independent_segments) {
    pl.independent_segments = false;
    dependent_segments_ = true;
  }
  pl.segments.push_back(std::move(seg));
  pl.next_msn = r.msn + 1;

  if (!r.gap) {
    s.stats.bytes += static_cast<int64_t>(r.bytes);
    s.stats.seconds += r.duration;
    s.stats.frames += r.frames;
    add_rate(s.stats, r.bytes, r.duration);
  } else {
    s.stats.recent.clear();  // no media: no run of segments through it
  }
  s.stats.part_bytes = 0;
  s.stats.part_seconds = 0;

  if (p_.window > 0) {
    while (pl.segments.size() > static_cast<size_t>(p_.window)) retire(s);
  } else if (pl.low_latency && pl.segments.size() > kPartGraceSegments) {
    // An EVENT playlist keeps every segment, but parts are listed only near
    // the end: their files go once no recent playlist can name them.
    hls::Segment& old = pl.segments[pl.segments.size() - 1 - kPartGraceSegments];
    for (auto& part : old.parts) remove_file(s, part.uri);
    old.parts.clear();
  }
  if (!target_known_) return {};
  SIGMA_RETURN_IF_ERROR(write_media(r.track));
  return maybe_write_master(false);
}

// Every run of consecutive segments ending with this one, 0.5 to 1.5
// target durations long, is a candidate for the peak (a segment alone
// if it lasts that long; a short one, the end of an input, counts with
// its predecessors rather than alone).
void HlsPublisher::add_rate(Stats& st, size_t bytes, double seconds) const {
  if (seconds <= 0) return;
  double target = p_.target_duration > 0 ? p_.target_duration : seconds;
  st.recent.emplace_back(static_cast<double>(bytes) * 8.0, seconds);
  double bits = 0, secs = 0;
  for (auto it = st.recent.rbegin(); it != st.recent.rend(); ++it) {
    bits += it->first;
    secs += it->second;
    bool alone = it == st.recent.rbegin();
    if (secs > 1.5 * target + 1e-9 && !alone) break;
    if (secs >= 0.5 * target - 1e-9 || (alone && secs > 1.5 * target))
      st.peak_bps = std::max<int64_t>(st.peak_bps, static_cast<int64_t>(std::ceil(bits / secs)));
  }
  double total = 0;
  for (auto& r : st.recent) total += r.second;
  while (st.recent.size() > 1 && total - st.recent.front().second > 1.5 * target) {
    total -= st.recent.front().second;
    st.recent.pop_front();
  }
}

void HlsPublisher::remove_file(const State& s, const std::string& uri) const {
  std::string path = p_.out_dir + "/" + s.info.name + "/" + uri;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) spdlog::warn("remove {}: {}", path, std::strerror(errno));
}

void HlsPublisher::retire(State& s) {
  hls::MediaPlaylist& pl = s.playlist;
  hls::Segment& front = pl.segments.front();
  if (front.discontinuity) ++pl.discontinuity_sequence;
  std::vector<std::string> files;
  if (!p_.keep) files.push_back(front.uri);
  for (auto& part : front.parts) files.push_back(part.uri);
  s.retired.emplace_back(front.msn, std::move(files));
  pl.segments.pop_front();
  // A player may still hold a playlist that lists a retired segment: the
  // files stay for one more window before they go (counted from the
  // playlist on disk, which is older than this one while writes fail).
  int64_t sequence = pl.media_sequence();
  if (s.behind && s.written_sequence >= 0) sequence = std::min(sequence, s.written_sequence);
  int64_t keep_from = sequence - p_.window;
  while (!s.retired.empty() && s.retired.front().first < keep_from) {
    for (auto& f : s.retired.front().second) remove_file(s, f);
    s.retired.pop_front();
  }
}

Status HlsPublisher::on_input_end(bool final) {
  for (size_t i = 0; i < tracks_.size(); ++i) {
    State& s = tracks_[i];
    if (final) {
      s.playlist.ended = true;
      if (s.playlist.low_latency) {
        s.playlist.low_latency->pending_parts.clear();
        s.playlist.low_latency->preload_hint_uri.clear();
      }
    }
    if (!s.playlist.segments.empty() && target_known_) SIGMA_RETURN_IF_ERROR(write_media(i));
  }
  if (!target_known_) return {};
  return maybe_write_master(true);
}

void HlsPublisher::fill_reports(size_t track) {
  auto& ll = tracks_[track].playlist.low_latency;
  if (!ll) return;
  ll->rendition_reports.clear();
  for (size_t i = 0; i < tracks_.size(); ++i) {
    if (i == track) continue;
    const State& o = tracks_[i];
    const auto& oll = o.playlist.low_latency;
    hls::RenditionReport rr;
    rr.uri = "../" + o.info.name + "/" + kPlaylistName;
    if (o.pending_msn >= 0 && oll && !oll->pending_parts.empty()) {
      rr.last_msn = o.pending_msn;
      rr.last_part = static_cast<int>(oll->pending_parts.size()) - 1;
    } else if (!o.playlist.segments.empty()) {
      const hls::Segment& last = o.playlist.segments.back();
      rr.last_msn = last.msn;
      rr.last_part = static_cast<int>(last.parts.size()) - 1;
    } else {
      continue;
    }
    ll->rendition_reports.push_back(rr);
  }
}

std::string HlsPublisher::media_playlist_text(size_t track) const {
  return hls::render(tracks_.at(track).playlist);
}

Status HlsPublisher::survive(const std::string& what, const Status& st) const {
  if (st || !p_.health || st.code() != ExitCode::kSystem) return st;
  p_.health->failed(what, st);
  return {};
}

Status HlsPublisher::write_media(size_t track) {
  fill_reports(track);
  State& s = tracks_[track];
  Status st = write_file_atomic(p_.out_dir + "/" + s.info.name + "/" + kPlaylistName, hls::render(s.playlist));
  s.behind = !st;
  if (st) s.written_sequence = s.playlist.media_sequence();
  return survive("playlist " + s.info.name + "/" + kPlaylistName, st);
}

hls::MasterPlaylist HlsPublisher::build_master(std::vector<int64_t>* measured) const {
  hls::MasterPlaylist m;
  m.independent_segments = !dependent_segments_;
  const State* audio = nullptr;
  bool have_video = false;
  for (const State& s : tracks_) have_video |= s.info.video;
  for (const State& s : tracks_) {
    if (s.info.video || !have_video || s.codecs.empty()) continue;
    hls::AudioRendition a;
    a.name = s.info.name;
    a.uri = s.info.name + "/" + kPlaylistName;
    a.channels = s.channels;
    a.is_default = audio == nullptr;
    if (!audio) audio = &s;
    m.audio.push_back(a);
  }
  // Before a track's first segment is complete, its parts so far stand in
  // (the master is written as soon as every track has published a part).
  auto avg = [](const Stats& st) -> int64_t {
    if (st.seconds > 0) return static_cast<int64_t>(std::llround(st.bytes * 8.0 / st.seconds));
    if (st.part_seconds > 0) return static_cast<int64_t>(std::llround(st.part_bytes * 8.0 / st.part_seconds));
    return 0;
  };
  auto peak = [&](const Stats& st) { return std::max(st.peak_bps, avg(st)); };
  auto headroom = [](int64_t bps) { return bps + (bps * kBandwidthHeadroomPercent + 99) / 100; };
  for (const State& s : tracks_) {
    if ((have_video && !s.info.video) || s.codecs.empty() || (s.stats.seconds <= 0 && s.stats.part_seconds <= 0))
      continue;
    hls::Variant v;
    v.uri = s.info.name + "/" + kPlaylistName;
    v.codecs = s.codecs;
    int64_t need = peak(s.stats);
    v.average_bandwidth = avg(s.stats);
    if (s.info.video) {
      v.width = s.width;
      v.height = s.height;
      if (s.stats.seconds > 0) v.frame_rate = std::round(s.stats.frames / s.stats.seconds * 1000) / 1000;
    }
    if (audio) {
      v.codecs += "," + audio->codecs;
      need += peak(audio->stats);
      v.average_bandwidth += avg(audio->stats);
      v.audio_group = "audio";
    }
    v.bandwidth = headroom(need);
    if (measured) measured->push_back(need);
    m.variants.push_back(v);
  }
  if (p_.part_target > 0) m.version = 9;
  return m;
}

std::string HlsPublisher::master_playlist_text() const { return hls::render(build_master()); }

// Written as soon as every track has published something (a part, in
// ultra-low: a player that joins early must not wait longer for the
// master than for the media), then rewritten when a figure moves.
Status HlsPublisher::maybe_write_master(bool force) {
  bool all = true, any_two = false;
  for (const State& s : tracks_) {
    bool parts = s.playlist.low_latency && !s.playlist.low_latency->pending_parts.empty();
    all &= !s.playlist.segments.empty() || parts;
    any_two |= s.info.video && s.playlist.segments.size() >= 2;
  }
  if (!all && !any_two && !force) return {};
  std::vector<int64_t> measured;
  hls::MasterPlaylist m = build_master(&measured);
  if (m.variants.empty()) return {};
  std::string text = hls::render(m);
  if (text == master_written_) return {};
  if (!master_written_.empty() && !force) {
    bool significant = m.variants.size() != last_master_.variants.size() ||
                       m.independent_segments != last_master_.independent_segments;
    for (size_t i = 0; !significant && i < m.variants.size(); ++i) {
      const auto &a = m.variants[i], &b = last_master_.variants[i];
      significant = measured[i] > b.bandwidth ||  // never understate the peak
                    static_cast<double>(b.bandwidth) > (1 + kBandwidthSlack) * static_cast<double>(a.bandwidth) ||
                    differs(a.average_bandwidth, b.average_bandwidth, kAverageSlack) || a.codecs != b.codecs ||
                    a.width != b.width || a.height != b.height || std::fabs(a.frame_rate - b.frame_rate) > 0.01;
    }
    if (!significant) return {};
  }
  Status st = write_file_atomic(p_.out_dir + "/" + kMasterName, text);
  if (!st) return survive(kMasterName, st);  // written again at the next change
  master_written_ = text;
  last_master_ = m;
  return {};
}

}  // namespace sigma::package
