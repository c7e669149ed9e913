#include "base/time_spec.h"

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace sigma {
namespace {

constexpr const char* kTimeForms = "ISO 8601, Unix seconds, now or -1h";
constexpr const char* kDurationForms = "seconds, or numbers with units: 90m, 1h30m, 2h, 7d";
constexpr const char* kSizeForms = "bytes, or a number with K, M, G or T: 100M, 50G";
// Beyond this a duration or a size is a typing mistake, not a wish.
constexpr int64_t kMaxDurationMs = int64_t{100} * 366 * 86400 * 1000;
constexpr double kMaxSize = 9.0e18;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : d[m - 1];
}

// Reads exactly n digits at s[i].
bool digits(const std::string& s, size_t& i, size_t n, int64_t& out) {
  if (i + n > s.size()) return false;
  int64_t v = 0;
  for (size_t k = 0; k < n; ++k) {
    if (!std::isdigit(static_cast<unsigned char>(s[i + k]))) return false;
    v = v * 10 + (s[i + k] - '0');
  }
  i += n;
  out = v;
  return true;
}

// A decimal number ("12", "1.5", ".5") at s[i]; false when none.
bool number(const std::string& s, size_t& i, double& out) {
  size_t start = i;
  bool any = false;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, any = true;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i, any = true;
  }
  if (!any) {
    i = start;
    return false;
  }
  out = std::strtod(s.substr(start, i - start).c_str(), nullptr);
  return true;
}

enum class IsoResult { kOk, kNotIso, kBad, kNoZone };

IsoResult parse_iso(const std::string& s, int64_t& out_ms) {
  size_t i = 0;
  int64_t y, mo, d, h = 0, mi = 0, sec = 0, frac_ms = 0;
  if (!digits(s, i, 4, y) || i >= s.size() || s[i] != '-') return IsoResult::kNotIso;
  ++i;
  if (!digits(s, i, 2, mo) || i >= s.size() || s[i] != '-') return IsoResult::kBad;
  ++i;
  if (!digits(s, i, 2, d)) return IsoResult::kBad;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, static_cast<unsigned>(mo))) return IsoResult::kBad;
  int64_t offset_min = 0;
  if (i < s.size()) {
    if (s[i] != 'T' && s[i] != 't' && s[i] != ' ') return IsoResult::kBad;
    ++i;
    if (!digits(s, i, 2, h) || i >= s.size() || s[i] != ':' || (++i, !digits(s, i, 2, mi))) return IsoResult::kBad;
    if (i < s.size() && s[i] == ':') {
      ++i;
      if (!digits(s, i, 2, sec)) return IsoResult::kBad;
      if (i < s.size() && (s[i] == '.' || s[i] == ',')) {
        ++i;
        size_t n = 0;
        int64_t scale = 100;
        while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) {
          if (n < 3) frac_ms += (s[i] - '0') * scale, scale /= 10;
          ++i, ++n;
        }
        if (n == 0) return IsoResult::kBad;
      }
    }
    if (h > 23 || mi > 59 || sec > 60) return IsoResult::kBad;
    if (i >= s.size()) return IsoResult::kNoZone;
    if (s[i] == 'Z' || s[i] == 'z') {
      ++i;
    } else if (s[i] == '+' || s[i] == '-') {
      int sign = s[i] == '-' ? -1 : 1;
      ++i;
      int64_t oh, om = 0;
      if (!digits(s, i, 2, oh)) return IsoResult::kBad;
      if (i < s.size() && s[i] == ':') ++i;
      if (i < s.size() && !digits(s, i, 2, om)) return IsoResult::kBad;
      if (oh > 23 || om > 59) return IsoResult::kBad;
      offset_min = sign * (oh * 60 + om);
    } else {
      return IsoResult::kBad;
    }
    if (i != s.size()) return IsoResult::kBad;
  }
  int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  out_ms = ((days * 24 + h) * 60 + mi) * 60000 + sec * 1000 + frac_ms - offset_min * 60000;
  return IsoResult::kOk;
}

Status bad_time(const std::string& text) {
  return usage_error("cannot read '" + text + "' as a time (" + kTimeForms + ")");
}

}  // namespace

Result<int64_t> parse_time(const std::string& text, int64_t now_ms) {
  if (text.empty()) return bad_time(text);
  if (text == "now") return now_ms;
  if (text[0] == '-') {
    auto d = parse_duration(text.substr(1));
    if (!d.is_ok()) return bad_time(text);
    return now_ms - *d;
  }
  int64_t ms = 0;
  switch (parse_iso(text, ms)) {
    case IsoResult::kOk:
      return ms;
    case IsoResult::kNoZone:
      return usage_error("cannot read '" + text + "' as a time: no time zone (add Z for UTC, or an offset such as +01:00)");
    case IsoResult::kBad:
      return bad_time(text);
    case IsoResult::kNotIso:
      break;
  }
  size_t i = 0;
  double secs = 0;
  if (!number(text, i, secs) || i != text.size() || secs > 1e13) return bad_time(text);
  return static_cast<int64_t>(std::llround(secs * 1000));
}

Result<int64_t> parse_duration(const std::string& text) {
  auto bad = [&] { return usage_error("cannot read '" + text + "' as a duration (" + kDurationForms + ")"); };
  if (text.empty()) return bad();
  size_t i = 0;
  double total = 0;
  double v = 0;
  if (number(text, i, v) && i == text.size()) {
    total = v * 1000;
  } else {
    i = 0;
    int last_unit = 99;  // units must go from large to small: "1h30m", not "30m1h"
    while (i < text.size()) {
      if (!number(text, i, v)) return bad();
      size_t u = i;
      while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
      std::string unit = text.substr(u, i - u);
      double scale;
      int rank;
      if (unit == "w") scale = 7 * 86400e3, rank = 5;
      else if (unit == "d") scale = 86400e3, rank = 4;
      else if (unit == "h") scale = 3600e3, rank = 3;
      else if (unit == "m" || unit == "min") scale = 60e3, rank = 2;
      else if (unit == "s") scale = 1e3, rank = 1;
      else if (unit == "ms") scale = 1, rank = 0;
      else return bad();
      if (rank >= last_unit) return bad();
      last_unit = rank;
      total += v * scale;
    }
  }
  if (total > static_cast<double>(kMaxDurationMs))
    return usage_error("duration '" + text + "' is longer than 100 years");
  return static_cast<int64_t>(std::llround(total));
}

Result<int64_t> parse_size(const std::string& text) {
  auto bad = [&] { return usage_error("cannot read '" + text + "' as a size (" + kSizeForms + ")"); };
  size_t i = 0;
  double v = 0;
  if (!number(text, i, v)) return bad();
  std::string unit = text.substr(i);
  double scale = 1;
  if (!unit.empty() && unit.back() == 'B' && unit.size() > 1 && unit[unit.size() - 2] != 'i' &&
      unit.size() == 2) {
    // KB MB GB TB: powers of 1000, as coreutils reads them.
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'K': scale = 1e3; break;
      case 'M': scale = 1e6; break;
      case 'G': scale = 1e9; break;
      case 'T': scale = 1e12; break;
      default: return bad();
    }
  } else if (unit.empty() || unit == "B") {
    scale = 1;
  } else {
    if (unit.size() == 3 && unit.substr(1) == "iB") unit = unit.substr(0, 1);
    if (unit.size() != 1) return bad();
    switch (std::toupper(static_cast<unsigned char>(unit[0]))) {
      case 'K': scale = 1024.0; break;
      case 'M': scale = 1024.0 * 1024; break;
      case 'G': scale = 1024.0 * 1024 * 1024; break;
      case 'T': scale = 1024.0 * 1024 * 1024 * 1024; break;
      default: return bad();
    }
  }
  double bytes = v * scale;
  if (bytes > kMaxSize) return usage_error("size '" + text + "' is too large");
  return static_cast<int64_t>(std::llround(bytes));
}

std::string format_duration(int64_t ms) {
  if (ms < 0) return "-" + format_duration(-ms);
  if (ms == 0) return "0s";
  std::string out;
  int64_t s = ms / 1000;
  int64_t rest_ms = ms % 1000;
  const struct { int64_t secs; const char* unit; } units[] = {{86400, "d"}, {3600, "h"}, {60, "m"}, {1, "s"}};
  for (const auto& u : units) {
    if (s >= u.secs) {
      out += std::to_string(s / u.secs) + u.unit;
      s %= u.secs;
    }
  }
  if (rest_ms) out += std::to_string(rest_ms) + "ms";
  return out;
}

std::string format_size(int64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  if (u == 0) std::snprintf(buf, sizeof buf, "%lld B", static_cast<long long>(bytes));
  else std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

}  // namespace sigma
