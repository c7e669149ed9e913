#include "api/channel_body.h"

#include <cctype>

namespace sigma::api {

bool valid_channel_name(std::string_view n) {
  if (n.empty() || n.size() > 64 || n[0] == '.' || n[0] == '-') return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

namespace {

bool valid_key(std::string_view k) {
  if (k.empty() || k.size() > 64 || !std::islower(static_cast<unsigned char>(k[0]))) return false;
  bool after_dot = false;
  for (char c : k) {
    if (c == '.') {
      if (after_dot) return false;
      after_dot = true;
      continue;
    }
    if (!std::islower(static_cast<unsigned char>(c)) && !std::isdigit(static_cast<unsigned char>(c)) && c != '_')
      return false;
  }
  return k.back() != '.';
}

// A field name quoted in a message: JSON-escaped, shortened, so that what
// a client sent cannot forge lines in a log.
std::string quote_field(const std::string& s) {
  std::string j = nlohmann::json(s.substr(0, 80)).dump(-1, ' ', true, nlohmann::json::error_handler_t::replace);
  return s.size() > 80 ? j + "..." : j;
}

}  // namespace

std::variant<ChannelEntries, BodyError> channel_entries(const nlohmann::json& body) {
  if (!body.is_object()) return BodyError{"bad_json", "the body must be a JSON object of config keys"};
  ChannelEntries out;
  for (auto& [key, v] : body.items()) {
    if (!valid_key(key))
      return BodyError{"bad_field", "field " + quote_field(key) + " cannot be a config key (lowercase letters, digits, '_', one '.')"};
    if (key.size() > 8 && key.compare(key.size() - 8, 8, ".command") == 0)
      return BodyError{"forbidden_field", "field \"" + key + "\" is not accepted through the API: it runs a command; "
                                          "set it in the config file"};
    std::string value;
    if (v.is_string()) {
      value = v.get<std::string>();
    } else if (v.is_boolean()) {
      value = v.get<bool>() ? "yes" : "no";
    } else if (v.is_number_integer() || v.is_number_unsigned()) {
      value = v.dump();
    } else {
      return BodyError{"bad_field", "field \"" + key + "\": expected a string, an integer or a boolean"};
    }
    for (char c : value)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return BodyError{"bad_field", "field \"" + key + "\": control characters (line breaks) are not allowed in a value"};
    if (value.size() > 4096) return BodyError{"bad_field", "field \"" + key + "\": longer than 4096 bytes"};
    if (key == "input") {
      size_t b = value.find_first_not_of(" \t");
      if (b != std::string::npos && value.compare(b, 4, "exec") == 0 &&
          (value.size() == b + 4 || std::isspace(static_cast<unsigned char>(value[b + 4]))))
        return BodyError{"forbidden_field", "field \"input\": 'exec' is not accepted through the API: it runs a "
                                            "command; set it in the config file"};
    }
    out.emplace_back(key, value);
  }
  return out;
}

std::string render_channel_file(const std::string& name, const ChannelEntries& entries) {
  std::string out = "# Written by the sigma-supervisor API; PUT replaces it whole.\n[channel " + name + "]\n";
  for (auto& [k, v] : entries) out += k + " = " + v + "\n";
  return out;
}

nlohmann::json entries_json(const ChannelEntries& entries) {
  nlohmann::json j = nlohmann::json::object();
  for (auto& [k, v] : entries) j[k] = v;
  return j;
}

}  // namespace sigma::api
