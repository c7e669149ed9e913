#include "supervisor/config.h"

#include <algorithm>
#include <cstdlib>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <set>

#include "base/conf.h"
#include "base/fs.h"
#include "base/push_url.h"
#include "base/time_spec.h"
#include "supervisor/failover_config.h"
#include "origin/signing.h"

namespace sigma::supervisor {
namespace {

std::string trim(const std::string& s) { return conf_trim(s); }

bool valid_channel_name(const std::string& n) {
  if (n.empty() || n.size() > 64 || n[0] == '.' || n[0] == '-') return false;
  for (char c : n)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// host:port with a numeric port; "off" where allowed.
Status check_address(const std::string& v, bool off_ok) {
  if (off_ok && v == "off") return {};
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == v.size())
    return usage_error("expected HOST:PORT" + std::string(off_ok ? " or off" : "") + ", got '" + v + "'");
  auto port = parse_count(v.substr(colon + 1));
  if (!port || *port < 1 || *port > 65535) return usage_error("bad port in '" + v + "'");
  return {};
}

// The forms sigma-dvr's --retain and --max-bytes take, in the largest
// unit that divides the value ("7d", "36h", "100G"; plain seconds/bytes).
std::string canonical_duration(int64_t s) {
  if (s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s);
}

std::string canonical_size(int64_t b) {
  for (auto [shift, unit] : {std::pair{40, "T"}, {30, "G"}, {20, "M"}, {10, "K"}})
    if (b % (int64_t{1} << shift) == 0) return std::to_string(b >> shift) + unit;
  return std::to_string(b);
}

class Parser {
 public:
  explicit Parser(std::string origin) : origin_(std::move(origin)) {}

  Result<Config> run(const std::string& text) {
    Config cfg;
    cfg.path = origin_;
    ConfVisitor v;
    v.on_section = [&](const ConfSection& sec) -> Status {
      line_ = sec.line;
      if (sec.kind != "channel") return {};
      if (!valid_channel_name(sec.name))
        return usage_error("channel name '" + sec.name + "': use letters, digits, '-', '_' or '.' (it names directories)");
      if (const ChannelConfig* other = cfg.find(sec.name))
        return usage_error("channel '" + sec.name + "' is defined twice (also at " +
                           (other->file.empty() ? origin_ : other->file) + ":" + std::to_string(other->line) + ")");
      ChannelConfig ch;
      ch.name = sec.name;
      ch.line = sec.line;
      ch.file = channel_file_;
      cfg.channels.push_back(std::move(ch));
      return {};
    };
    v.on_key = [&](const ConfSection& sec, const std::string& key, const std::string& value, int line) {
      line_ = line;
      return sec.kind == "global" ? global_key(cfg.global, key, value) : channel_key(cfg.channels.back(), key, value);
    };
    SIGMA_RETURN_IF_ERROR(read_conf(text, origin_, {{"global", false}, {"channel", true}}, v));
    if (!cfg.global.channels_dir.empty()) SIGMA_RETURN_IF_ERROR(read_channel_files(cfg, v));
    if (cfg.global.api != "off" && cfg.global.api_tokens.empty()) {
      auto slash = origin_.rfind('/');
      cfg.global.api_tokens = (slash == std::string::npos ? std::string(".") : origin_.substr(0, slash)) + "/api-tokens";
    }
    std::set<std::string> outputs;
    for (auto& ch : cfg.channels) {
      line_ = ch.line;
      error_origin_ = ch.file;
      if (ch.output_dir.empty()) ch.output_dir = cfg.global.out_root + "/" + ch.name;
      while (ch.output_dir.size() > 1 && ch.output_dir.back() == '/') ch.output_dir.pop_back();
      if (!outputs.insert(ch.output_dir).second)
        return error("channel '" + ch.name + "' writes to " + ch.output_dir + ", as another channel does");
      if (ch.enabled && ch.input_kind == InputKind::kPublish && cfg.global.rtmp == "off" && cfg.global.srt == "off")
        return error("channel '" + ch.name + "' takes published input but [global] has rtmp and srt off");
      if (ch.input.empty() && ch.input_kind != InputKind::kPublish)
        return error("channel '" + ch.name + "' has no input");
      if (!ch.restream.empty() && ch.input_kind != InputKind::kPublish) {
        line_ = ch.restream.front().line;
        return error("restream." + ch.restream.front().name +
                     ": restream pushes what publishers send (input = publish), not a pull or exec input");
      }
      if (ch.record && cfg.global.record_dir.empty())
        return error("channel '" + ch.name + "' has record = yes but [global] sets no record_dir");
      // sigma-dvr deletes by age what the packager keeps: an archive
      // shorter than the live window would pull segments out from under
      // the live playlist.
      line_ = ch.archive_line;
      if (!ch.archive.empty() && ch.archive_s < std::max<int64_t>(ch.dvr_window_s, 60))
        return error("archive = " + ch.archive + " is shorter than " +
                     (ch.dvr_window_s > 60 ? "the channel's dvr window" : std::string("a minute")) +
                     ": sigma-dvr would delete segments the live playlist still lists");
    }
    error_origin_.clear();
    if (cfg.global.restart.backoff_max_ms < cfg.global.restart.backoff_initial_ms) {
      line_ = 0;
      return error("backoff_max is shorter than backoff_initial");
    }
    if (!cfg.global.hooks.empty()) {
      // sigma-hook follows a file (and keeps its read position in it): the
      // supervisor's events must go to one.
      line_ = cfg.global.hooks_line;
      const std::string& ev = cfg.global.events;
      if (ev.empty() || ev == "-" || ev.rfind("fd:", 0) == 0)
        return error("hooks = " + cfg.global.hooks + " needs [global] events = FILE: sigma-hook follows that file");
      if (cfg.global.hooks_state.empty()) {
        auto slash = ev.rfind('/');
        cfg.global.hooks_state = (slash == std::string::npos ? std::string(".") : ev.substr(0, slash)) + "/hooks.sqlite";
      }
    }
    if (cfg.global.stats) SIGMA_RETURN_IF_ERROR(check_stats(cfg.global));
    SIGMA_RETURN_IF_ERROR(check_failover(cfg));
    SIGMA_RETURN_IF_ERROR(check_playback(cfg));
    return cfg;
  }

  const ChannelFileOverrides* overrides = nullptr;

 private:
  Status error(const std::string& msg) const {
    return conf_error(error_origin_.empty() ? origin_ : error_origin_, line_, msg);
  }

  // channels_dir/NAME.conf, in name order, each one [channel NAME] section
  // in the main file's syntax. Other names there (NAME.conf.tmp of a write
  // under way, notes) are not channel files.
  Status read_channel_files(Config& cfg, ConfVisitor& v) {
    const std::string& dir = cfg.global.channels_dir;
    std::map<std::string, std::string> texts;
    std::error_code ec;
    if (std::filesystem::is_directory(dir, ec)) {
      for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
           it.increment(ec)) {
        std::string fn = it->path().filename().string();
        if (fn.size() <= 5 || fn.compare(fn.size() - 5, 5, ".conf") != 0) continue;
        std::string name = fn.substr(0, fn.size() - 5);
        if (!valid_channel_name(name)) continue;
        auto t = read_file(it->path().string());
        if (!t) return usage_error("read channel file " + it->path().string() + ": " + t.status().message());
        texts[name] = *t;
      }
      if (ec) return usage_error("list channels_dir " + dir + ": " + ec.message());
    }
    if (overrides)
      for (auto& [name, t] : *overrides) {
        if (t) texts[name] = *t;
        else texts.erase(name);
      }
    for (auto& [name, t] : texts) {
      std::string file = dir + "/" + name + ".conf";
      size_t before = cfg.channels.size();
      channel_file_ = file;
      Status st = read_conf(t, file, {{"channel", true}}, v);
      channel_file_.clear();
      SIGMA_RETURN_IF_ERROR(st);
      if (cfg.channels.size() != before + 1 || cfg.channels.back().name != name)
        return conf_error(file, 0, "a channel file holds one [channel " + name + "] section, named as the file");
    }
    return {};
  }

  // "<stage>.args" / "<stage>.command"; returns false when key is not one.
  static Result<bool> stage_key(std::map<std::string, StageOverride>& stages,
                                const std::set<std::string>& allowed, const std::string& key,
                                const std::string& value) {
    auto dot = key.find('.');
    if (dot == std::string::npos) return false;
    std::string stage = key.substr(0, dot), what = key.substr(dot + 1);
    if (!allowed.count(stage)) {
      std::string list;
      for (auto& s : allowed) list += (list.empty() ? "" : ", ") + s;
      return usage_error("unknown stage '" + stage + "' in '" + key + "' (stages here: " + list + ")");
    }
    if (what != "args" && what != "command")
      return usage_error("unknown key '" + key + "': expected " + stage + ".args or " + stage + ".command");
    SIGMA_ASSIGN_OR_RETURN(auto words, split_words(value));
    if (what == "command" && words.empty()) return usage_error("'" + key + "' is empty");
    (what == "args" ? stages[stage].extra_args : stages[stage].command) = std::move(words);
    return true;
  }

  Status global_key(GlobalConfig& g, const std::string& key, const std::string& v) {
    if ((key == "stats" || key.rfind("stats.", 0) == 0) && key != "stats.args" && key != "stats.command")
      return stats_key(g, key, v);
    SIGMA_ASSIGN_OR_RETURN(bool is_stage, stage_key(g.stages, {"hook", "ingest", "origin", "stats"}, key, v));
    if (is_stage) return {};
    RestartPolicy& r = g.restart;
    auto duration = [&](int64_t& out) -> Status {
      SIGMA_ASSIGN_OR_RETURN(out, parse_duration_ms(v));
      return {};
    };
    auto nonempty_path = [&](std::string& out) -> Status {
      if (v.empty()) return usage_error("'" + key + "' needs a path");
      out = v;
      return {};
    };
    if (key == "bin_dir") return nonempty_path(g.bin_dir);
    if (key == "run_dir") return nonempty_path(g.run_dir);
    if (key == "out_root") return nonempty_path(g.out_root);
    if (key == "access_log") return nonempty_path(g.access_log);
    if (key == "keys") return nonempty_path(g.keys);
    if (key == "record_dir") return nonempty_path(g.record_dir);
    if (key == "events") return nonempty_path(g.events);
    if (key == "api_tokens") return nonempty_path(g.api_tokens);
    if (key == "channels_dir") return nonempty_path(g.channels_dir);
    if (key == "api") {
      SIGMA_RETURN_IF_ERROR(check_address(v, true));
      g.api = v;
      return {};
    }
    if (key == "health" || key == "origin" || key == "rtmp" || key == "srt") {
      SIGMA_RETURN_IF_ERROR(check_address(v, true));
      (key == "health" ? g.health : key == "origin" ? g.origin : key == "rtmp" ? g.rtmp : g.srt) = v;
      return {};
    }
    if (key == "open_keys") {
      SIGMA_ASSIGN_OR_RETURN(g.open_keys, parse_bool(v));
      return {};
    }
    if (key == "min_spawn_interval") return duration(r.min_spawn_interval_ms);
    if (key == "backoff_initial") return duration(r.backoff_initial_ms);
    if (key == "backoff_max") return duration(r.backoff_max_ms);
    if (key == "stable_after") return duration(r.stable_after_ms);
    if (key == "stop_grace") return duration(r.stop_grace_ms);
    if (key == "death_tally") {
      // "5 in 60s"
      auto in = v.find(" in ");
      if (in == std::string::npos) return usage_error("expected 'N in DURATION', e.g. '5 in 60s'");
      SIGMA_ASSIGN_OR_RETURN(r.death_tally, parse_count(trim(v.substr(0, in))));
      if (r.death_tally < 1) return usage_error("death_tally needs at least 1 death");
      SIGMA_ASSIGN_OR_RETURN(r.death_window_ms, parse_duration_ms(trim(v.substr(in + 4))));
      return {};
    }
    if (key == "hooks" || key == "hooks_state") {
      if (key == "hooks") g.hooks_line = line_;
      return nonempty_path(key == "hooks" ? g.hooks : g.hooks_state);
    }
    if (key == "playback_secret") {
      g.playback_secret_line = line_;
      return nonempty_path(g.playback_secret);
    }
    SIGMA_ASSIGN_OR_RETURN(bool is_alert, alert_key(g.alerts, key, v));
    if (is_alert) return {};
    return usage_error("unknown key '" + key + "' in [global]");
  }

  Status channel_key(ChannelConfig& ch, const std::string& key, const std::string& v) {
    if (key == "thumbnails" || key.rfind("thumbnails.", 0) == 0) return thumbnails_key(ch, key, v);
    if (key.rfind("restream.", 0) == 0) return restream_key(ch, key.substr(9), v);
    if (key == "restream") return usage_error("restream: name each target, restream.NAME = URL");
    SIGMA_ASSIGN_OR_RETURN(bool is_stage,
                           stage_key(ch.stages, {"dvr", "package", "source", "thumb", "transcode"}, key, v));
    if (is_stage) return {};
    SIGMA_ASSIGN_OR_RETURN(bool is_failover, failover_key(ch, key, v, line_));
    if (is_failover) return {};
    if (key == "enabled") {
      SIGMA_ASSIGN_OR_RETURN(ch.enabled, parse_bool(v));
      return {};
    }
    if (key == "input") {
      auto sp = v.find_first_of(" \t");
      std::string kind = v.substr(0, sp), rest = sp == std::string::npos ? "" : trim(v.substr(sp));
      if (kind == "publish") {
        if (!rest.empty()) return usage_error("'input = publish' takes nothing after it (the key is the channel name)");
        ch.input_kind = InputKind::kPublish;
        ch.input.clear();
        return {};
      }
      if (kind == "pull") {
        if (rest.empty() || rest.find_first_of(" \t") != std::string::npos)
          return usage_error("'input = pull URL' needs one URL (or path)");
        ch.input_kind = InputKind::kPull;
        ch.input = rest;
        return {};
      }
      if (kind == "exec") {
        SIGMA_ASSIGN_OR_RETURN(ch.input_argv, split_words(rest));
        if (ch.input_argv.empty()) return usage_error("'input = exec COMMAND...' needs a command");
        ch.input_kind = InputKind::kExec;
        ch.input = rest;
        return {};
      }
      return usage_error("input: expected 'publish', 'pull URL' or 'exec COMMAND...', got '" + v + "'");
    }
    if (key == "mode") {
      if (v != "normal" && v != "low" && v != "ultra-low")
        return usage_error("mode: expected normal, low or ultra-low, got '" + v + "'");
      ch.mode = v;
      return {};
    }
    if (key == "ladder") {
      if (v.empty() || v.find_first_of(" \t") != std::string::npos)
        return usage_error("ladder: expected passthrough, a preset name or WxH@RATE,... without blanks");
      ch.ladder = v;
      return {};
    }
    if (key == "preset") {
      if (v.empty() || v.find_first_of(" \t") != std::string::npos) return usage_error("preset: one word");
      ch.preset = v;
      return {};
    }
    if (key == "output") {
      if (v.empty()) return usage_error("output needs a directory");
      ch.output_dir = v;
      return {};
    }
    if (key == "dvr") {
      SIGMA_ASSIGN_OR_RETURN(int64_t ms, parse_duration_ms(v));
      ch.dvr_window_s = ms / 1000;
      return {};
    }
    if (key == "archive") {
      auto ms = parse_duration_ms(v);
      if (!ms || *ms % 1000 != 0 || *ms == 0)
        return usage_error("archive: expected how long to keep the archive, like 7d, 48h or 90m, got '" + v + "'");
      ch.archive_s = *ms / 1000;
      ch.archive = canonical_duration(ch.archive_s);
      if (ch.archive_line == 0) ch.archive_line = line_;
      return {};
    }
    if (key == "archive_max") {
      auto bytes = parse_size_bytes(v);
      if (!bytes || *bytes == 0)
        return usage_error("archive_max: expected the most the archive may hold, like 100G or 500M, got '" + v + "'");
      ch.archive_max_bytes = *bytes;
      ch.archive_max = canonical_size(ch.archive_max_bytes);
      if (ch.archive_line == 0) ch.archive_line = line_;
      return {};
    }
    if (key == "archive_min_free") {
      // Free space the archive keeps on its filesystem: a percent, a size, or off.
      bool ok = v == "off";
      if (!ok && !v.empty() && v.back() == '%') {
        char* end = nullptr;
        double pct = std::strtod(v.c_str(), &end);
        ok = end == v.c_str() + v.size() - 1 && pct > 0 && pct < 100;
      } else if (!ok) {
        auto bytes = parse_size_bytes(v);
        ok = bytes && *bytes > 0;
      }
      if (!ok)
        return usage_error("archive_min_free: expected free space to keep, like 5% or 2G, or off, got '" + v + "'");
      ch.archive_min_free = v;
      return {};
    }
    if (key == "record") {
      SIGMA_ASSIGN_OR_RETURN(ch.record, parse_bool(v));
      return {};
    }
    if (key == "playback") {
      if (v != "signed" && v != "open") return usage_error("playback: expected open or signed, got '" + v + "'");
      ch.signed_playback = v == "signed";
      ch.playback_line = line_;
      return {};
    }
    if (key == "package_in_ingest") {
      SIGMA_ASSIGN_OR_RETURN(ch.package_in_ingest, parse_bool(v));
      return {};
    }
    if (key == "events") {
      if (v.empty()) return usage_error("events needs a file path");
      ch.events = v;
      return {};
    }
    return usage_error("unknown key '" + key + "' in [channel " + ch.name + "]");
  }

  // restream.NAME = rtmp://HOST/APP/KEY | rtmps://... | srt://HOST:PORT?...
  Status restream_key(ChannelConfig& ch, const std::string& name, const std::string& v) {
    if (name.find('.') != std::string::npos)
      return usage_error("restream." + name + ": a target is restream.NAME = URL (it pushes the channel's source; "
                         "rungs of a ladder are not restreamed)");
    if (!valid_push_target_name(name))
      return usage_error("restream." + name + ": a target name is letters, digits, '-' or '_' (up to 32)");
    for (auto& t : ch.restream)
      if (t.name == name) return usage_error("restream." + name + " given twice");
    SIGMA_RETURN_IF_ERROR_CTX(parse_push_url(v).status(), "restream." + name);
    ch.restream.push_back({name, v, line_});
    return {};
  }

  // stats = yes|no, stats.metrics, stats.state, stats.session_timeout.
  Status stats_key(GlobalConfig& g, const std::string& key, const std::string& v) {
    if (key == "stats") {
      SIGMA_ASSIGN_OR_RETURN(g.stats, parse_bool(v));
      g.stats_line = line_;
      return {};
    }
    if (key == "stats.metrics") {
      SIGMA_RETURN_IF_ERROR(check_address(v, true));
      g.stats_metrics = v;
      return {};
    }
    if (key == "stats.state") {
      if (v.empty()) return usage_error("'stats.state' needs a path");
      g.stats_state = v;
      return {};
    }
    if (key == "stats.session_timeout") {
      auto ms = parse_duration_ms(v);
      if (!ms || *ms < 1000 || *ms > 3600000)
        return usage_error("stats.session_timeout: expected a duration between 1s and 1h, like 30s, got '" + v + "'");
      g.stats_session_timeout = format_duration(*ms);
      return {};
    }
    return usage_error("unknown key '" + key + "': expected stats, stats.metrics, stats.state, "
                       "stats.session_timeout, stats.args or stats.command");
  }

  // A signed channel needs the secrets, and they must be good now: a
  // running origin keeps its old ones when a reload finds a bad file.
  Status check_playback(const Config& cfg) {
    const GlobalConfig& g = cfg.global;
    const ChannelConfig* first = nullptr;
    for (const auto& ch : cfg.channels)
      if (ch.signed_playback && !first) first = &ch;
    if (first && g.playback_secret.empty()) {
      line_ = first->playback_line;
      if (!first->file.empty()) error_origin_ = first->file;
      return error("playback = signed needs [global] playback_secret = FILE (the secrets sigma-origin checks with)");
    }
    if (first && g.origin == "off") {
      line_ = first->playback_line;
      if (!first->file.empty()) error_origin_ = first->file;
      return error("playback = signed needs the origin (origin = off): only sigma-origin checks tokens");
    }
    if (!g.playback_secret.empty()) {
      line_ = g.playback_secret_line;
      error_origin_.clear();
      auto secrets = origin::load_playback_secrets(g.playback_secret);
      if (!secrets) return error(secrets.status().message());
    }
    return {};
  }

  // sigma-stats follows the origin's access log (and keeps its read
  // position in it): the origin must run and write one to a file.
  Status check_stats(GlobalConfig& g) {
    line_ = g.stats_line;
    if (g.origin == "off") return error("stats = yes needs the origin: sigma-stats counts its access log");
    if (g.access_log.empty() || g.access_log == "-")
      return error("stats = yes needs [global] access_log = FILE: sigma-stats follows that file");
    if (!g.stats_metrics.empty() && g.stats_metrics != "off" && g.stats_metrics == g.health)
      return error("stats.metrics " + g.stats_metrics + " is the health address too");
    if (g.stats_state.empty()) {
      auto slash = g.access_log.rfind('/');
      g.stats_state =
          (slash == std::string::npos ? std::string(".") : g.access_log.substr(0, slash)) + "/stats.sqlite";
    }
    return {};
  }

  // thumbnails = yes|no, thumbnails.every, .widths, .sprites: checked
  // here so that a typo is this file's error, not sigma-thumb's exit.
  static Status thumbnails_key(ChannelConfig& ch, const std::string& key, const std::string& v) {
    if (key == "thumbnails") {
      SIGMA_ASSIGN_OR_RETURN(ch.thumbnails, parse_bool(v));
      return {};
    }
    auto interval = [&](std::string& out, const char* example) -> Status {
      auto ms = parse_duration_ms(v);
      if (!ms || *ms < 100 || *ms > 3600000)
        return usage_error(key + ": expected an interval between 100ms and 1h, like " + example + ", got '" + v + "'");
      out = format_duration(*ms);
      return {};
    };
    if (key == "thumbnails.every") return interval(ch.thumbnails_every, "2s");
    if (key == "thumbnails.sprites") return interval(ch.thumbnails_sprites, "10s");
    if (key == "thumbnails.widths") {
      std::string out;
      size_t i = 0;
      while (true) {
        size_t comma = v.find(',', i);
        std::string w = trim(v.substr(i, comma == std::string::npos ? std::string::npos : comma - i));
        auto n = parse_count(w);
        if (!n || *n < 16 || *n > 7680 || *n % 2)
          return usage_error("thumbnails.widths: expected even widths in pixels (16 to 7680), like 320,640, got '" + v +
                             "'");
        out += (out.empty() ? "" : ",") + std::to_string(*n);
        if (comma == std::string::npos) break;
        i = comma + 1;
      }
      ch.thumbnails_widths = out;
      return {};
    }
    return usage_error("unknown key '" + key + "': expected thumbnails, thumbnails.every, thumbnails.widths or "
                       "thumbnails.sprites");
  }

  std::string origin_;
  int line_ = 0;
  std::string channel_file_;  // the channel file being read ("": the main file)
  std::string error_origin_;  // the file a check's error names ("": origin_)
};

}  // namespace

const ChannelConfig* Config::find(const std::string& name) const {
  for (auto& c : channels)
    if (c.name == name) return &c;
  return nullptr;
}

Result<Config> parse_config(const std::string& text, const std::string& origin) {
  return Parser(origin).run(text);
}

Result<Config> load_config(const std::string& path) {
  auto text = read_file(path);
  if (!text) return usage_error("read config " + path + ": " + text.status().message());
  return parse_config(*text, path);
}

Result<Config> load_config(const std::string& path, const ChannelFileOverrides& overrides) {
  auto text = read_file(path);
  if (!text) return usage_error("read config " + path + ": " + text.status().message());
  Parser p(path);
  p.overrides = &overrides;
  return p.run(*text);
}

std::string channel_file_path(const GlobalConfig& g, const std::string& name) {
  return g.channels_dir + "/" + name + ".conf";
}

}  // namespace sigma::supervisor
