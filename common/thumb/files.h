#pragma once
// What sigma-thumb writes into a channel's directory, and how the origin
// (and anyone with a shell) reads it back. Contract between sigma-thumb,
// sigma-origin and the watch page.
//
// <channel dir>/thumbs/
//   latest.jpg        the newest picture at the first width asked for
//   latest-W.jpg      the same picture W pixels wide, one per width asked
//   latest.json       {"pdt_ms": media time of the picture (Unix ms, the
//                      segment's EXT-X-PROGRAM-DATE-TIME plus the frame's
//                      offset), "written_ms", "track": "360p", "segment":
//                      "360p/seg-12.m4s", "widths": [320, 640],
//                      "width", "height" (of latest.jpg), "stale": bool,
//                      "stale_reason": "" | "no keyframe in 720p/seg-13.m4s" ...}
//                     the age a reader reports is now - pdt_ms.
//   sprite-K.jpg      a sheet of cols x rows tiles of tile_w x tile_h
//   sprite-K.json     its SheetMeta (below), renamed into place after the
//                     JPEG, so the JSON never names a tile the JPEG lacks
// Every file is written to a temporary name and renamed into place.
//
// Sprite slots are laid on the media clock, not on a count: slot =
// floor(pdt_ms / interval_ms) of the picture, sheet K = slot / (cols *
// rows), tile position in the sheet = slot % (cols * rows) read row by
// row. A slot's picture is the first keyframe whose pdt lies inside the
// slot; a slot without one (a gap, a rung shed) has no tile. So a restart
// (or a second writer) puts the same picture in the same place, and any
// range of the archive finds its tiles by arithmetic.
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace sigma::thumb {

inline constexpr const char* kDir = "thumbs";  // under the channel dir

struct Tile {
  int64_t slot = 0;    // floor(pdt_ms / interval_ms)
  int64_t pdt_ms = 0;  // media time of the picture shown
  int x = 0, y = 0;    // top-left corner in the sheet, pixels
};

struct SheetMeta {
  int64_t sheet = 0;          // K
  int64_t interval_ms = 10000;
  int cols = 10, rows = 10;
  int tile_w = 160, tile_h = 90;
  std::vector<Tile> tiles;    // ascending slot
};

// "sprite-K.jpg" / "sprite-K.json" (names inside thumbs/).
std::string sheet_jpg_name(int64_t sheet);
std::string sheet_json_name(int64_t sheet);

// The sidecar JSON: {"sheet","interval_ms","cols","rows","tile_w",
// "tile_h","tiles":[{"slot","pdt_ms","x","y"}...]}.
Result<SheetMeta> read_sheet_meta(const std::string& json_path);
Status write_sheet_meta(const std::string& json_path, const SheetMeta& meta);  // atomic

// The sheet numbers K of the sprite-K.json under channel_dir/thumbs,
// ascending (from the names alone; nothing is parsed).
std::vector<int64_t> list_sheets(const std::string& channel_dir);

struct TileRef {
  int64_t sheet = 0;
  Tile tile;
  int w = 0, h = 0;
  int64_t interval_ms = 0;
};
// The tiles of every sheet under channel_dir/thumbs whose slot overlaps
// [from_ms, to_ms), ascending. A missing thumbs/ is an empty list. Only
// the sidecars of the sheets that can hold the range under the newest
// sheet's geometry are parsed (all of them when one parsed differs).
Result<std::vector<TileRef>> tiles_in_range(const std::string& channel_dir, int64_t from_ms, int64_t to_ms);

// A WebVTT file for the range: cue times are seconds from from_ms; each
// cue runs from its tile's slot start (from_ms for the first) to the next
// tile's slot start (to_ms for the last), so the cues tile the range with
// no gap or overlap; its text is uri_prefix + "sprite-K.jpg#xywh=X,Y,W,H"
// (uri_prefix: how the VTT's URL reaches thumbs/, e.g. "thumbs/" or
// "../thumbs/"). No tiles: a valid VTT with no cues.
std::string make_vtt(const std::vector<TileRef>& tiles, int64_t from_ms, int64_t to_ms,
                     const std::string& uri_prefix);

}  // namespace sigma::thumb
