#pragma once
// What the archive of one channel holds, as JSON: its time ranges without
// holes (and the gaps between them), sizes, tracks and keeps. One function
// so that `sigma-dvr list --json` and the origin's /CHANNEL/archive.json
// say the same thing.
//
// {"channel":"demo","from":"2026-12-03T10:00:00.000Z","to":"...","from_ms":..,"to_ms":..,
//  "duration_s":..,"bytes":..,"segments":..,
//  "ranges":[{"from":"..","to":"..","from_ms":..,"to_ms":..,"duration_s":..,"bytes":..,"segments":..}],
//  "gaps":[{"from":"..","to":"..","from_ms":..,"to_ms":..,"duration_s":..}],
//  "tracks":[{"name":"720p","bytes":..,"segments":..,"ranges":[...]}],
//  "keeps":[{"name":"..","from":"..","to":"..","from_ms":..,"to_ms":..,"created":".."}]}
// An empty archive has from/to null and empty lists.
#include <nlohmann/json.hpp>

#include "base/status.h"
#include "dvr/index.h"

namespace sigma::dvr {

// channel: the name to print; "" takes the index's meta 'channel', else
// the directory's name.
Result<nlohmann::json> describe(const Index& index, const std::string& channel = "");

}  // namespace sigma::dvr
