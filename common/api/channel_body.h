#pragma once
// A channel as the API receives it (a JSON object whose keys are the
// config file's keys, sigma-supervisor(5)) and as it is written (a channel
// file: one [channel NAME] section). The keys themselves are the config
// parser's to judge; here only the shape: flat scalar values, key names
// that can be config keys, no line breaks (a value must not add lines),
// and nothing that would run a command.
#include <nlohmann/json.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "base/status.h"

namespace sigma::api {

// The config's rule: [A-Za-z0-9_.-], 1..64, not starting with '.' or '-'
// (so never "..", never a '/').
bool valid_channel_name(std::string_view name);

using ChannelEntries = std::vector<std::pair<std::string, std::string>>;

// Why a body is refused: code (bad_json, bad_field, forbidden_field) and
// the message naming the field.
struct BodyError {
  std::string code;
  std::string message;
};

// body -> the entries in key order, or the first error. Strings stay as
// written, integers as digits, booleans as yes/no; null, arrays, objects
// and fractions are refused.
std::variant<ChannelEntries, BodyError> channel_entries(const nlohmann::json& body);
// The channel file's text.
std::string render_channel_file(const std::string& name, const ChannelEntries& entries);
// The entries as a JSON object of strings (GET shows what was written).
nlohmann::json entries_json(const ChannelEntries& entries);

}  // namespace sigma::api
