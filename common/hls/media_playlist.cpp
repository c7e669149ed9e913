#include "hls/media_playlist.h"

#include <cmath>
#include <cstdio>

#include "base/time.h"

namespace sigma::hls {

std::string format_decimal(double v, int decimals, bool round_up) {
  double scale = std::pow(10.0, decimals);
  // The epsilon keeps 0.3333333 * 1e5 = 33333.33 from rounding up to a value
  // that is bigger than the writer meant only because of float noise.
  double scaled = round_up ? std::ceil(v * scale - 1e-6) : std::round(v * scale);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, scaled / scale);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

namespace {

void put_part(std::string& out, const Part& p) {
  out += "#EXT-X-PART:DURATION=" + format_decimal(p.duration) + ",URI=\"" + p.uri + "\"";
  if (p.independent) out += ",INDEPENDENT=YES";
  out += '\n';
}

void put_map(std::string& out, const std::string& uri) {
  out += "#EXT-X-MAP:URI=\"" + uri + "\"\n";
}

void put_pdt(std::string& out, int64_t ms) {
  out += "#EXT-X-PROGRAM-DATE-TIME:" + iso8601_utc(ms) + '\n';
}

}  // namespace

std::string render(const MediaPlaylist& p) {
  std::string out;
  out.reserve(256 + p.segments.size() * 96);
  out += "#EXTM3U\n";
  out += "#EXT-X-VERSION:" + std::to_string(p.version) + '\n';
  out += "#EXT-X-TARGETDURATION:" + std::to_string(p.target_duration) + '\n';
  if (!p.playlist_type.empty()) out += "#EXT-X-PLAYLIST-TYPE:" + p.playlist_type + '\n';
  if (p.independent_segments) out += "#EXT-X-INDEPENDENT-SEGMENTS\n";
  const LowLatency* ll = p.low_latency ? &*p.low_latency : nullptr;
  if (ll) {
    out += "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES";
    if (ll->can_skip_until > 0) out += ",CAN-SKIP-UNTIL=" + format_decimal(ll->can_skip_until, 3, true);
    out += ",PART-HOLD-BACK=" + format_decimal(ll->part_hold_back, 5, true) + '\n';
    out += "#EXT-X-PART-INF:PART-TARGET=" + format_decimal(ll->part_target, 5, true) + '\n';
  } else if (p.can_skip_until > 0) {
    // CAN-BLOCK-RELOAD too: the origin holds _HLS_msn on any playlist, and
    // strict parsers (hls-parser) refuse a SERVER-CONTROL without it.
    out += "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=" + format_decimal(p.can_skip_until, 3, true) +
           '\n';
  }
  out += "#EXT-X-MEDIA-SEQUENCE:" + std::to_string(p.media_sequence()) + '\n';
  if (p.discontinuity_sequence > 0)
    out += "#EXT-X-DISCONTINUITY-SEQUENCE:" + std::to_string(p.discontinuity_sequence) + '\n';

  // Which segments still list their parts: those whose first part starts
  // at most kPartListingTargets target durations before the end of the
  // playlist, among its last kPartListingSegments segments.
  size_t first_with_parts = p.segments.size();
  if (ll) {
    double from_end = 0;
    for (const Part& part : ll->pending_parts) from_end += part.duration;
    bool in_progress = !p.ended && (!ll->pending_parts.empty() || !ll->preload_hint_uri.empty());
    size_t max_segments = kPartListingSegments - (in_progress ? 1 : 0);
    // On the safe side of the text's rounding (5e-6 s a duration), so
    // that a checker adding up the printed durations agrees.
    double limit = kPartListingTargets * p.target_duration - 1e-4;
    for (size_t i = p.segments.size(); i-- > 0 && p.segments.size() - i <= max_segments;) {
      from_end += p.segments[i].duration;
      if (from_end > limit) break;
      first_with_parts = i;
    }
  }

  const std::string* prev_map = nullptr;
  for (size_t i = 0; i < p.segments.size(); ++i) {
    const Segment& s = p.segments[i];
    if (s.discontinuity) out += "#EXT-X-DISCONTINUITY\n";
    if (!s.map_uri.empty() && (!prev_map || *prev_map != s.map_uri)) put_map(out, s.map_uri);
    prev_map = &s.map_uri;
    if (s.program_date_time_ms) put_pdt(out, *s.program_date_time_ms);
    if (i >= first_with_parts)
      for (const Part& part : s.parts) put_part(out, part);
    if (s.gap) out += "#EXT-X-GAP\n";
    out += "#EXTINF:" + format_decimal(s.duration) + ",\n";
    out += s.uri + '\n';
  }
  if (ll && !p.ended) {
    // Tags of the segment being built go before its first part; with no
    // part yet they wait, so a hint never sits after a dangling tag.
    if (!ll->pending_parts.empty()) {
      if (ll->pending_discontinuity) out += "#EXT-X-DISCONTINUITY\n";
      if (!ll->pending_map_uri.empty() && (!prev_map || *prev_map != ll->pending_map_uri))
        put_map(out, ll->pending_map_uri);
      if (ll->pending_program_date_time_ms) put_pdt(out, *ll->pending_program_date_time_ms);
    }
    for (const Part& part : ll->pending_parts) put_part(out, part);
    if (!ll->preload_hint_uri.empty())
      out += "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=\"" + ll->preload_hint_uri + "\"\n";
  }
  if (ll) {
    for (const RenditionReport& r : ll->rendition_reports) {
      out += "#EXT-X-RENDITION-REPORT:URI=\"" + r.uri + "\",LAST-MSN=" + std::to_string(r.last_msn);
      if (r.last_part >= 0) out += ",LAST-PART=" + std::to_string(r.last_part);
      out += '\n';
    }
  }
  if (p.ended) out += "#EXT-X-ENDLIST\n";
  return out;
}

}  // namespace sigma::hls
