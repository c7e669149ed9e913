#include "base/conf.h"

#include <cctype>
#include <climits>
#include <set>
#include <utility>

#include "base/fs.h"

namespace sigma {
namespace {

std::string header_of(const ConfSectionKind& k) { return "[" + k.kind + (k.named ? " NAME]" : "]"); }

// "[global] or [channel NAME]", "[global], [channel NAME] or [x NAME]".
std::string header_list(const std::vector<ConfSectionKind>& kinds, const char* quote) {
  std::string out;
  for (size_t i = 0; i < kinds.size(); ++i) {
    if (i > 0) out += i + 1 == kinds.size() ? " or " : ", ";
    out += quote + header_of(kinds[i]) + quote;
  }
  return out;
}

}  // namespace

Status conf_error(const std::string& origin, int line, const std::string& msg) {
  if (line > 0) return usage_error(origin + ":" + std::to_string(line) + ": " + msg);
  return usage_error(origin + ": " + msg);
}

std::string conf_trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

Status read_conf(const std::string& text, const std::string& origin, const std::vector<ConfSectionKind>& kinds,
                 const ConfVisitor& visitor) {
  ConfSection current;
  bool in_section = false;
  std::set<std::string> seen_keys;
  std::set<std::pair<std::string, std::string>> seen_sections;
  size_t pos = 0;
  int line_no = 0;
  auto error = [&](const std::string& msg) { return conf_error(origin, line_no, msg); };
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = conf_trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (line.back() != ']') return error("section header without a closing ']'");
      std::string inner = conf_trim(line.substr(1, line.size() - 2));
      seen_keys.clear();
      const ConfSectionKind* kind = nullptr;
      std::string name;
      for (auto& k : kinds) {
        if (!k.named && inner == k.kind) {
          kind = &k;
          break;
        }
        if (k.named && inner.size() > k.kind.size() && inner.compare(0, k.kind.size(), k.kind) == 0 &&
            std::isspace(static_cast<unsigned char>(inner[k.kind.size()]))) {
          kind = &k;
          name = conf_trim(inner.substr(k.kind.size()));
          if (name.size() >= 2 && name.front() == '"' && name.back() == '"') name = name.substr(1, name.size() - 2);
          break;
        }
      }
      if (!kind) return error("unknown section [" + inner + "]: expected " + header_list(kinds, ""));
      if (!seen_sections.insert({kind->kind, name}).second) {
        if (!kind->named) return error("a second [" + kind->kind + "] section");
        return error(kind->kind + " '" + name + "' is defined twice");
      }
      current = ConfSection{kind->kind, name, line_no};
      in_section = true;
      if (visitor.on_section) {
        Status st = visitor.on_section(current);
        if (!st.is_ok()) return error(st.message());
      }
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string::npos) return error("expected 'key = value', " + header_list(kinds, "'"));
    std::string key = conf_trim(line.substr(0, eq));
    std::string value = conf_trim(line.substr(eq + 1));
    if (key.empty()) return error("a value without a key");
    if (!in_section) return error("'" + key + "' before any " + header_list(kinds, "") + " section");
    if (!seen_keys.insert(key).second) return error("'" + key + "' is set twice in this section");
    if (visitor.on_key) {
      Status st = visitor.on_key(current, key, value, line_no);
      if (!st.is_ok()) return error(st.message());
    }
  }
  return {};
}

const ConfEntry* ConfDocSection::find(const std::string& key) const {
  for (auto& e : entries)
    if (e.key == key) return &e;
  return nullptr;
}

Result<ConfDoc> parse_conf(const std::string& text, const std::string& origin,
                           const std::vector<ConfSectionKind>& kinds) {
  ConfDoc doc;
  doc.origin = origin;
  ConfVisitor v;
  v.on_section = [&](const ConfSection& s) {
    doc.sections.push_back(ConfDocSection{s, {}});
    return Status();
  };
  v.on_key = [&](const ConfSection&, const std::string& key, const std::string& value, int line) {
    doc.sections.back().entries.push_back(ConfEntry{key, value, line});
    return Status();
  };
  SIGMA_RETURN_IF_ERROR(read_conf(text, origin, kinds, v));
  return doc;
}

Result<ConfDoc> load_conf(const std::string& path, const std::vector<ConfSectionKind>& kinds) {
  auto text = read_file(path);
  if (!text) return usage_error("read config " + path + ": " + text.status().message());
  return parse_conf(*text, path, kinds);
}

Result<bool> parse_bool(const std::string& v) {
  if (v == "yes" || v == "true" || v == "on" || v == "1") return true;
  if (v == "no" || v == "false" || v == "off" || v == "0") return false;
  return usage_error("expected yes or no, got '" + v + "'");
}

Result<int> parse_count(const std::string& v) {
  if (v.empty() || v.size() > 6) return usage_error("expected a number, got '" + v + "'");
  for (char c : v)
    if (!std::isdigit(static_cast<unsigned char>(c))) return usage_error("expected a number, got '" + v + "'");
  return std::stoi(v);
}

Result<int64_t> parse_duration_ms(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0 || i > 9) return usage_error("expected a duration like 500ms, 30s, 5m or 2h, got '" + s + "'");
  int64_t n = std::stoll(s.substr(0, i));
  std::string unit = s.substr(i);
  if (unit == "ms") return n;
  if (unit.empty() || unit == "s") return n * 1000;
  if (unit == "m" || unit == "min") return n * 60'000;
  if (unit == "h") return n * 3'600'000;
  if (unit == "d") return n * 86'400'000;
  return usage_error("unknown duration unit '" + unit + "' in '" + s + "' (ms, s, m, h, d)");
}

Result<int64_t> parse_size_bytes(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i == 0 || i > 12) return usage_error("expected a size like 500M, 100G or 2T, got '" + s + "'");
  int64_t n = std::stoll(s.substr(0, i));
  std::string unit = s.substr(i);
  int shift = unit.empty() ? 0 : unit == "K" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : unit == "T" ? 40 : -1;
  if (shift < 0) return usage_error("unknown size unit '" + unit + "' in '" + s + "' (K, M, G, T)");
  if (n > (INT64_MAX >> shift)) return usage_error("size '" + s + "' is too large");
  return n << shift;
}

Result<std::vector<std::string>> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  bool in_word = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\'' || c == '"') {
      size_t end = i + 1;
      in_word = true;
      while (end < s.size() && s[end] != c) {
        if (c == '"' && s[end] == '\\' && end + 1 < s.size()) ++end;
        cur += s[end++];
      }
      if (end >= s.size()) return usage_error(std::string("unterminated ") + c + " quote");
      i = end;
    } else if (c == '\\') {
      if (i + 1 >= s.size()) return usage_error("a trailing backslash");
      cur += s[++i];
      in_word = true;
    } else if (c == ' ' || c == '\t') {
      if (in_word) out.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) out.push_back(std::move(cur));
  return out;
}

std::string shell_quote(const std::string& w) {
  if (w.empty()) return "''";
  bool plain = true;
  for (char c : w)
    if (!std::isalnum(static_cast<unsigned char>(c)) && std::string("-_./:=,@%+").find(c) == std::string::npos)
      plain = false;
  if (plain) return w;
  std::string q = "'";
  for (char c : w) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

}  // namespace sigma
