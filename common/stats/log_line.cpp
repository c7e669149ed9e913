#include "stats/log_line.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/time_spec.h"

namespace sigma::stats {
namespace {

// A JSON string at s[i] == '"'; decoded into out (\uXXXX as UTF-8).
bool read_string(std::string_view s, size_t& i, std::string& out) {
  out.clear();
  ++i;
  while (i < s.size()) {
    size_t start = i;
    while (i < s.size() && s[i] != '"' && s[i] != '\\' && static_cast<unsigned char>(s[i]) >= 0x20) ++i;
    out.append(s.data() + start, i - start);
    if (i >= s.size()) return false;
    char c = s[i];
    if (c == '"') {
      ++i;
      return true;
    }
    if (static_cast<unsigned char>(c) < 0x20) return false;
    if (++i >= s.size()) return false;
    char e = s[i++];
    switch (e) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '/': out += '/'; break;
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        if (i + 4 > s.size()) return false;
        unsigned v = 0;
        for (int k = 0; k < 4; ++k) {
          char h = s[i + k];
          v <<= 4;
          if (h >= '0' && h <= '9') v |= h - '0';
          else if (h >= 'a' && h <= 'f') v |= h - 'a' + 10;
          else if (h >= 'A' && h <= 'F') v |= h - 'A' + 10;
          else return false;
        }
        i += 4;
        // Surrogates are kept as they are (a replacement-free, lossy read):
        // no field we use needs characters outside the BMP to be exact.
        if (v < 0x80) out += static_cast<char>(v);
        else if (v < 0x800) {
          out += static_cast<char>(0xC0 | (v >> 6));
          out += static_cast<char>(0x80 | (v & 0x3F));
        } else {
          out += static_cast<char>(0xE0 | (v >> 12));
          out += static_cast<char>(0x80 | ((v >> 6) & 0x3F));
          out += static_cast<char>(0x80 | (v & 0x3F));
        }
        break;
      }
      default: return false;
    }
  }
  return false;
}

void skip_ws(std::string_view s, size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) ++i;
}

// A scalar that is not a string: a number, true, false or null, as text.
bool read_bare(std::string_view s, size_t& i, std::string& out) {
  size_t start = i;
  while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ' ' && s[i] != '\t') ++i;
  if (i == start) return false;
  out.assign(s.data() + start, i - start);
  char c = out[0];
  if (out == "true" || out == "false" || out == "null") return true;
  if (c != '-' && (c < '0' || c > '9')) return false;
  for (char d : out)
    if (!((d >= '0' && d <= '9') || d == '-' || d == '+' || d == '.' || d == 'e' || d == 'E')) return false;
  return true;
}

bool to_int(const std::string& v, int64_t& out) {
  if (v.empty()) return false;
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(v.c_str(), &end);
  if (end == v.c_str() || *end != '\0' || errno != 0 || d < 0 || d > 9.2e18) return false;
  out = static_cast<int64_t>(d);
  return true;
}

int digits(std::string_view s, size_t at, size_t n) {
  if (at + n > s.size()) return -1;
  int v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = s[at + k];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  return v;
}

int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

std::string_view strip_port(std::string_view c) {
  if (!c.empty() && c[0] == '[') {
    size_t close = c.find(']');
    return close == std::string_view::npos ? c : c.substr(1, close - 1);
  }
  size_t colon = c.find(':');
  if (colon != std::string_view::npos && c.find(':', colon + 1) == std::string_view::npos) return c.substr(0, colon);
  return c;
}

bool ends_with(std::string_view s, std::string_view suf) {
  return s.size() >= suf.size() && s.substr(s.size() - suf.size()) == suf;
}

}  // namespace

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::kMaster: return "master";
    case Kind::kPlaylist: return "playlist";
    case Kind::kSegment: return "segment";
    case Kind::kPart: return "part";
    case Kind::kInit: return "init";
    case Kind::kThumbnail: return "thumbnail";
    default: return "other";
  }
}

const char* source_name(Source s) {
  switch (s) {
    case Source::kPath: return "path";
    case Source::kCmcd: return "cmcd";
    case Source::kToken: return "token";
    default: return "fallback";
  }
}

int64_t parse_iso_ms(std::string_view s) {
  // The fast path: the origin's own form, 2026-12-03T10:00:00.123Z.
  if (s.size() == 24 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' &&
      s[19] == '.' && s[23] == 'Z') {
    int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2), h = digits(s, 11, 2),
        mi = digits(s, 14, 2), se = digits(s, 17, 2), ms = digits(s, 20, 3);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 ||
        se > 60 || ms < 0)
      return -1;
    return ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60000 + se * 1000 + ms;
  }
  // Relative forms ("now", "-1h") are no log time.
  if (s.empty() || s[0] == '-' || s == "now") return -1;
  auto r = parse_time(std::string(s), 0);
  return r.is_ok() ? *r : -1;
}

bool parse_log_line(std::string_view s, LogLine& out) {
  out.time_ms = -1;
  out.client.clear();
  out.method.clear();
  out.path.clear();
  out.query.clear();
  out.user_agent.clear();
  out.session.clear();
  out.session_source.clear();
  out.status = 0;
  out.bytes = 0;
  bool have_status = false;
  size_t i = 0;
  skip_ws(s, i);
  if (i >= s.size() || s[i] != '{') return false;
  ++i;
  thread_local std::string key, val;
  skip_ws(s, i);
  if (i < s.size() && s[i] == '}') return false;
  for (;;) {
    skip_ws(s, i);
    if (i >= s.size() || s[i] != '"' || !read_string(s, i, key)) return false;
    skip_ws(s, i);
    if (i >= s.size() || s[i] != ':') return false;
    ++i;
    skip_ws(s, i);
    if (i >= s.size()) return false;
    bool is_string = s[i] == '"';
    if (is_string ? !read_string(s, i, val) : !read_bare(s, i, val)) return false;
    switch (key.size()) {
      case 4:
        if (key == "time") {
          if (!is_string) return false;
          out.time_ms = parse_iso_ms(val);
          if (out.time_ms < 0) return false;
        } else if (key == "path") {
          out.path.swap(val);
        } else if (key == "msec" && out.time_ms < 0) {
          char* end = nullptr;
          double d = std::strtod(val.c_str(), &end);
          if (end == val.c_str() || *end != '\0' || !(d > 0) || d > 1e11) return false;
          out.time_ms = static_cast<int64_t>(d * 1000.0 + 0.5);
        }
        break;
      case 5:
        if (key == "query") out.query.swap(val);
        else if (key == "bytes") {
          int64_t b = 0;
          if (!to_int(val, b)) return false;
          out.bytes = static_cast<uint64_t>(b);
        }
        break;
      case 6:
        if (key == "client") out.client.assign(strip_port(val));
        else if (key == "method") out.method.swap(val);
        else if (key == "status") {
          int64_t st = 0;
          if (!to_int(val, st) || st < 100 || st > 999) return false;
          out.status = static_cast<int>(st);
          have_status = true;
        }
        break;
      case 7:
        if (key == "session") out.session.swap(val);
        break;
      case 10:
        if (key == "user_agent") out.user_agent.swap(val);
        break;
      case 14:
        if (key == "session_source") out.session_source.swap(val);
        break;
      default: break;
    }
    skip_ws(s, i);
    if (i >= s.size()) return false;
    if (s[i] == ',') {
      ++i;
      continue;
    }
    if (s[i] != '}') return false;
    ++i;
    skip_ws(s, i);
    if (i != s.size()) return false;
    break;
  }
  if (out.time_ms < 0 || !have_status || out.path.empty() || out.path[0] != '/') return false;
  return true;
}

void classify_path(std::string_view path, PathInfo& out) {
  out.channel.clear();
  out.track.clear();
  out.sid.clear();
  out.viewer.clear();
  out.kind = Kind::kOther;
  // Components, without empty ones.
  std::string_view comps[16];
  size_t n = 0;
  size_t i = 0;
  while (i < path.size() && n < 16) {
    while (i < path.size() && path[i] == '/') ++i;
    size_t start = i;
    while (i < path.size() && path[i] != '/') ++i;
    if (i > start) comps[n++] = path.substr(start, i - start);
  }
  if (n < 2 || comps[0][0] == '_' || comps[0][0] == '.') return;
  out.channel.assign(comps[0]);
  size_t first = 1;
  // /CH/t/TOKEN/ and /CH/s/SID/, in either order (sigma-origin(1)): the
  // token's viewer id is what it starts with, up to its first dot (the
  // origin logs "VIEWER.REDACTED"; a bare "REDACTED" names no viewer).
  for (int pass = 0; pass < 2; ++pass) {
    if (n >= first + 3 && comps[first] == "s" && out.sid.empty() && comps[first + 1].size() >= 8 &&
        comps[first + 1].size() <= 64) {
      out.sid.assign(comps[first + 1]);
      first += 2;
    } else if (n >= first + 3 && comps[first] == "t" && out.viewer.empty()) {
      std::string_view tok = comps[first + 1];
      size_t dot = tok.find('.');
      if (dot != std::string_view::npos && dot > 0 && dot <= 64) out.viewer.assign(tok.substr(0, dot));
      first += 2;
    }
  }
  std::string_view name = comps[n - 1];
  for (size_t k = first; k + 1 < n; ++k)
    if (comps[k] == "thumbs") {
      out.kind = Kind::kThumbnail;
      return;
    }
  if (name == "thumbnails.vtt" || (first == n - 1 && name.substr(0, 6) == "latest" && ends_with(name, ".jpg"))) {
    out.kind = Kind::kThumbnail;
    return;
  }
  if (n - first >= 2) out.track.assign(comps[n - 2]);
  // A catch-up directory (timeshift_rel-60/...) is no track.
  if (n - first == 2 && out.track.find('-') != std::string::npos && out.track.rfind("timeshift", 0) == 0) out.track.clear();
  if (ends_with(name, ".m3u8")) {
    out.kind = name.rfind("master", 0) == 0 || n - first == 1 ? Kind::kMaster : Kind::kPlaylist;
    if (out.kind == Kind::kMaster) out.track.clear();
  } else if (name.rfind("init", 0) == 0 && ends_with(name, ".mp4")) {
    out.kind = Kind::kInit;
  } else if (ends_with(name, ".m4s") || ends_with(name, ".ts") || ends_with(name, ".mp4") ||
             ends_with(name, ".aac") || ends_with(name, ".m4a") || ends_with(name, ".m4v")) {
    // prefix-<msn>.<i>.m4s is a part: two dots in the name.
    size_t d1 = name.find('.');
    out.kind = d1 != std::string_view::npos && name.find('.', d1 + 1) != std::string_view::npos ? Kind::kPart
                                                                                                : Kind::kSegment;
  } else {
    out.track.clear();
  }
}

std::string cmcd_sid_from_query(std::string_view q) {
  size_t at = q.find("CMCD=");
  if (at == std::string_view::npos) return "";
  std::string_view v = q.substr(at + 5);
  size_t amp = v.find('&');
  if (amp != std::string_view::npos) v = v.substr(0, amp);
  // Percent-decode the value.
  std::string d;
  d.reserve(v.size());
  for (size_t k = 0; k < v.size(); ++k) {
    if (v[k] == '%' && k + 2 < v.size() + 0 && k + 2 <= v.size() - 1) {
      char hex[3] = {v[k + 1], v[k + 2], 0};
      char* end = nullptr;
      long c = std::strtol(hex, &end, 16);
      if (end == hex + 2) {
        d += static_cast<char>(c);
        k += 2;
        continue;
      }
    }
    d += v[k] == '+' ? ' ' : v[k];
  }
  size_t s = 0;
  while ((s = d.find("sid=\"", s)) != std::string::npos) {
    if (s == 0 || d[s - 1] == ',') {
      size_t start = s + 5, end = d.find('"', start);
      if (end == std::string::npos || end == start || end - start > 64) return "";
      std::string sid = d.substr(start, end - start);
      for (char c : sid)
        if (static_cast<unsigned char>(c) < 0x20 || c == '\\') return "";
      return sid;
    }
    s += 5;
  }
  return "";
}

}  // namespace sigma::stats
