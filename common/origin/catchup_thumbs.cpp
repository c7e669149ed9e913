// The seek previews of a range: WebVTT over sigma-thumb's sprite sheets
// (thumb/files.h), for the live window and for every catch-up range form,
// made on the catch-up workers (a day's range reads some 90 sheets' JSON).
#include <sys/stat.h>

#include "base/log.h"
#include "base/time.h"
#include "http/mime.h"
#include "origin/catchup_service.h"
#include "origin/responses.h"
#include "origin/thumbs.h"
#include "thumb/files.h"

namespace sigma::origin {

namespace bhttp = boost::beast::http;

std::shared_ptr<const CatchupService::Answer> CatchupService::thumbnails_answer(
    const std::shared_ptr<http::Exchange>& ex, const CatchupRequest& r) {
  bool head = ex->head();
  auto fail = [&](bhttp::status code, const std::string& text) -> std::shared_ptr<const Answer> {
    ex->send(text_response(code, text, head));
    return nullptr;
  };
  if (!store_.is_directory(r.channel)) return fail(bhttp::status::not_found, "unknown channel");
  if (!store_.is_directory(r.channel + "/" + thumb::kDir))
    return fail(bhttp::status::not_found, "no thumbnails for this channel");
  int64_t now = unix_ms_now();
  int64_t from = r.from_ms, to = r.to_ms;
  if (r.live_window) {
    auto start = live_window_start(store_, r.channel);
    if (!start) return fail(bhttp::status::not_found, "no live window: " + start.status().message());
    from = std::min(*start, now);
    to = now;
    if (to <= from) to = from + 1;
  }
  // /CH/RANGE/thumbnails.vtt stands beside the catch-up VOD of RANGE:
  // with an archive its cues are on that VOD's timeline, as players read
  // them; the query form keeps the range's own start as zero.
  std::vector<VodPiece> pieces = r.track.empty() ? std::vector<VodPiece>{} : vod_pieces(r);
  if (!pieces.empty()) {
    from = pieces.front().start_ms;
    to = pieces.back().end_ms;
  }
  auto tiles = sheets_.tiles(store_.root() + "/" + r.channel, from, to);
  if (!tiles) {
    spdlog::warn("thumbnails {}: {}", r.channel, tiles.status().message());
    return fail(bhttp::status::service_unavailable, "thumbnails unreadable: " + tiles.status().message());
  }
  // A range the sprites do not reach is answered as a catch-up playlist
  // of a range the archive does not hold: 404. The live window always has
  // an answer (no cues yet, at a channel's first seconds).
  if (tiles->empty() && !r.live_window)
    return fail(bhttp::status::not_found,
                "no thumbnails between " + iso8601_utc(from) + " and " + iso8601_utc(to));
  auto a = std::make_shared<Answer>();
  a->content_type = std::string(http::mime_type_for(".vtt"));
  a->cache_control = r.live_window ? "public, max-age=2"
                     : to < now - 60000 ? "public, max-age=60"
                                        : "public, max-age=2";
  // Cue URIs resolve from the VTT's own URL to CH/thumbs/.
  std::string prefix = std::string(r.track.empty() ? "" : "../") + thumb::kDir + "/";
  a->body = std::make_shared<const std::string>(pieces.empty() ? thumb::make_vtt(*tiles, from, to, prefix)
                                                                : vod_vtt(*tiles, pieces, prefix));
  return a;
}

std::vector<VodPiece> CatchupService::vod_pieces(const CatchupRequest& r) {
  struct stat st {};
  if (::stat((store_.root() + "/" + r.channel + "/" + dvr::kIndexPath).c_str(), &st) != 0) return {};
  auto opened = channel(r.channel);
  std::string ref = first_variant_dir(store_, r.channel);
  if (!opened || ref.empty()) return {};
  Result<std::vector<dvr::SegmentRow>> got = std::vector<dvr::SegmentRow>{};
  {
    std::lock_guard lock(opened->channel->mu);
    got = rows(*opened->index, r.channel, ref, r.from_ms, r.to_ms);
  }
  if (!got) return {};
  std::vector<VodPiece> pieces;
  int64_t vod = 0;
  for (const auto& row : select_segments(*got, r.from_ms, r.to_ms)) {
    pieces.push_back({row.start_ms, row.end_ms(), vod});
    vod += row.duration_ms;
  }
  return pieces;
}

}  // namespace sigma::origin
