#include "hook/subscriptions.h"

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/conf.h"
#include "base/fs.h"
#include "hook/signature.h"

namespace sigma::hook {
namespace {

bool valid_name(const std::string& n) {
  if (n.empty() || n.size() > 64 || n[0] == '.' || n[0] == '-') return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

std::vector<std::string> words(const std::string& v) {
  std::vector<std::string> out;
  std::istringstream in(v);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

Status positive_duration(const std::string& v, int64_t& out) {
  SIGMA_ASSIGN_OR_RETURN(out, parse_duration_ms(v));
  if (out <= 0) return usage_error("must be above 0");
  return {};
}

Status set_key(Subscription& s, const std::string& key, const std::string& v, int line) {
  if (key == "url") {
    if (v.rfind("http://", 0) != 0 && v.rfind("https://", 0) != 0)
      return usage_error("url: expected http://... or https://..., got '" + v + "'");
    if (v.find_first_of(" \t") != std::string::npos) return usage_error("url: blanks in a URL");
    s.url = v;
    return {};
  }
  if (key == "exec") {
    SIGMA_ASSIGN_OR_RETURN(s.exec, split_words(v));
    if (s.exec.empty()) return usage_error("exec: an empty command");
    return {};
  }
  if (key == "secret_file") {
    if (v.empty()) return usage_error("secret_file: an empty path");
    s.secret_file = v;
    s.secret_line = line;
    return {};
  }
  if (key == "events" || key == "channels") {
    auto w = words(v);
    if (w.empty()) return usage_error(key + ": at least one name or glob ('*' for all)");
    (key == "events" ? s.events : s.channels) = w;
    return {};
  }
  if (key == "timeout") return positive_duration(v, s.timeout_ms);
  if (key == "max_age") return positive_duration(v, s.max_age_ms);
  if (key == "backoff_initial") return positive_duration(v, s.backoff_initial_ms);
  if (key == "backoff_max") return positive_duration(v, s.backoff_max_ms);
  if (key == "concurrency") {
    SIGMA_ASSIGN_OR_RETURN(s.concurrency, parse_count(v));
    if (s.concurrency < 1 || s.concurrency > 64) return usage_error("concurrency: 1 to 64");
    return {};
  }
  return usage_error("unknown key '" + key + "' in [subscription " + s.name + "]");
}

}  // namespace

bool glob_match(const std::string& p, const std::string& t) {
  // Iterative '*' matching with one backtrack point.
  size_t pi = 0, ti = 0, star = std::string::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (pi < p.size() && p[pi] == t[ti]) {
      ++pi;
      ++ti;
    } else if (star != std::string::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool Subscription::wants(const std::string& type, const std::string& channel) const {
  bool t = false, c = false;
  for (const auto& g : events) t = t || glob_match(g, type);
  if (!t) return false;
  for (const auto& g : channels) c = c || glob_match(g, channel);
  return c;
}

Result<SubscriptionSet> parse_subscriptions(const std::string& text, const std::string& origin) {
  SubscriptionSet set;
  set.origin = origin;
  std::vector<int> header_lines;
  ConfVisitor v;
  v.on_section = [&](const ConfSection& sec) -> Status {
    if (!valid_name(sec.name))
      return usage_error("subscription name '" + sec.name + "': letters, digits, - _ . (at most 64)");
    Subscription s;
    s.name = sec.name;
    set.subs.push_back(std::move(s));
    header_lines.push_back(sec.line);
    return {};
  };
  v.on_key = [&](const ConfSection&, const std::string& key, const std::string& value, int line) -> Status {
    return set_key(set.subs.back(), key, value, line);
  };
  SIGMA_RETURN_IF_ERROR(read_conf(text, origin, {{"subscription", true}}, v));
  for (size_t i = 0; i < set.subs.size(); ++i) {
    const auto& s = set.subs[i];
    int line = header_lines[i];
    if (s.url.empty() == s.exec.empty())
      return conf_error(origin, line, "[subscription " + s.name + "]: needs one of url or exec");
    if (!s.url.empty() && s.secret_file.empty())
      return conf_error(origin, line, "[subscription " + s.name + "]: a url needs secret_file (whsec_ secret)");
    if (s.backoff_max_ms < s.backoff_initial_ms)
      return conf_error(origin, line, "[subscription " + s.name + "]: backoff_max below backoff_initial");
  }
  if (set.subs.empty()) return conf_error(origin, 0, "no [subscription NAME] section");
  return set;
}

Result<SubscriptionSet> load_subscriptions(const std::string& path) {
  auto text = read_file(path);
  if (!text.is_ok()) return usage_error(text.status().message());
  return parse_subscriptions(*text, path);
}

Status load_secrets(SubscriptionSet& set) {
  Status first;
  for (auto& s : set.subs) {
    s.keys.clear();
    s.secret_error.clear();
    if (s.secret_file.empty()) continue;
    Status st;
    std::ifstream in(s.secret_file);
    if (!in) {
      st = usage_error("secret_file " + s.secret_file + ": " + std::strerror(errno));
    } else {
      std::string line;
      int n = 0;
      while (std::getline(in, line)) {
        line = conf_trim(line);
        if (line.empty() || line[0] == '#') continue;
        ++n;
        auto key = decode_secret(line);
        // The message never quotes the secret itself.
        if (!key.is_ok()) {
          st = usage_error("secret_file " + s.secret_file + ": line " + std::to_string(n) + ": " +
                           key.status().message());
          break;
        }
        s.keys.push_back(std::move(*key));
      }
      if (st.is_ok() && s.keys.empty()) st = usage_error("secret_file " + s.secret_file + ": no secret in it");
      if (st.is_ok() && s.keys.size() > 2)
        st = usage_error("secret_file " + s.secret_file + ": more than two secrets (one, or two during a rotation)");
    }
    if (!st.is_ok()) {
      s.keys.clear();
      s.secret_error = st.message();
      if (first.is_ok()) first = conf_error(set.origin, s.secret_line, st.message());
    }
  }
  return first;
}

}  // namespace sigma::hook
