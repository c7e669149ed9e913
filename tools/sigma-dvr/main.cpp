// sigma-dvr: a channel's archive: index, retention, keeps, list and MP4
// export. See sigma-dvr(1).
#include <cmath>
#include <cstdlib>
#include <string>

#include "base/cli.h"
#include "dvr/archiver.h"
#include "dvr/commands.h"
#include "base/time_spec.h"

namespace {

// --from/--to/--duration, shared by keep and export.
void add_range(CLI::App* c, sigma::dvr::RangeSpec& r, bool required) {
  auto* from = c->add_option("--from", r.from, "start: ISO 8601 (2026-12-03T10:00:00Z), Unix seconds, now or -1h");
  if (required) from->required();
  auto* to = c->add_option("--to", r.to, "end, in the same forms");
  auto* d = c->add_option("--duration", r.duration, "length instead of --to: 3600, 90m, 1h30m, 2h");
  to->excludes(d);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sigma-dvr: a channel's archive: records segments, applies retention, keeps, lists and exports "
               "MP4. See sigma-dvr(1)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  app.require_subcommand(1);

  sigma::dvr::ArchiverParams run;
  std::string retain, max_bytes, min_free = "2%";
  double sweep_every = 10;
  auto* run_cmd = app.add_subcommand("run", "follow segment.written events, index, reconcile, apply retention");
  run_cmd->fallthrough();
  run_cmd->add_option("--dir", run.dir, "the channel directory (sigma-package -o)")->required();
  run_cmd->add_option("--channel", run.channel, "index this channel's events (default: those naming files of --dir)");
  run_cmd->add_option("--events-in", run.events_in, "segment.written events: '-' (stdin), a file (followed), fd:N")
      ->capture_default_str();
  run_cmd->add_option("--retain", retain, "delete what ended longer ago than this: 7d, 36h (default: keep all)");
  run_cmd->add_option("--max-bytes", max_bytes, "delete the oldest while the archive is larger: 50G, 500M");
  run_cmd->add_option("--min-free", min_free,
                      "keep this much of the filesystem free by deleting the oldest: 5%, 2G, or off")
      ->capture_default_str();
  run_cmd->add_option("--sweep-every", sweep_every, "seconds between retention sweeps")->capture_default_str();

  sigma::dvr::ListParams list;
  auto* list_cmd = app.add_subcommand("list", "what the archive holds: time ranges, gaps, sizes, keeps");
  list_cmd->add_option("CHANNEL_DIR", list.dir, "the channel directory")->required();
  list_cmd->add_flag("--json", list.json, "print JSON");

  sigma::dvr::KeepParams keep;
  auto* keep_cmd = app.add_subcommand("keep", "keep a range past retention, remove or list keeps");
  keep_cmd->add_option("CHANNEL_DIR", keep.dir, "the channel directory")->required();
  add_range(keep_cmd, keep.range, false);
  keep_cmd->add_option("--name", keep.name, "the keep's name (the same name again replaces it)");
  keep_cmd->add_option("--remove", keep.remove, "remove the keep of this name");
  keep_cmd->add_flag("--list", keep.list, "list the keeps");
  keep_cmd->add_flag("--json", keep.json, "with --list: print JSON");

  sigma::dvr::ExportParams exp;
  auto* export_cmd = app.add_subcommand("export", "write a range as one progressive MP4 (moov first)");
  export_cmd->add_option("CHANNEL_DIR", exp.dir, "the channel directory")->required();
  add_range(export_cmd, exp.range, true);
  export_cmd->add_option("--variant", exp.variant, "the variant (track) to export (default: the highest BANDWIDTH)");
  export_cmd->add_option("-o,--output", exp.out, "the MP4 to write (atomically: <out>.tmp, then renamed)")
      ->required();
  export_cmd->add_option("--progress", exp.progress, "auto (a bar on a terminal, JSON lines otherwise), bar, json, none")
      ->check(CLI::IsMember({"auto", "bar", "json", "none"}))
      ->capture_default_str();

  return sigma::run_main(app, argc, argv, "sigma-dvr", common, [&]() -> sigma::Status {
    if (run_cmd->parsed()) {
      if (!retain.empty()) {
        auto r = sigma::parse_duration(retain);
        if (!r.is_ok()) return r.status().wrap("--retain");
        if (*r <= 0) return sigma::usage_error("--retain: must be above 0");
        run.retain_ms = *r;
      }
      if (!max_bytes.empty()) {
        auto b = sigma::parse_size(max_bytes);
        if (!b.is_ok()) return b.status().wrap("--max-bytes");
        if (*b <= 0) return sigma::usage_error("--max-bytes: must be above 0");
        run.max_bytes = *b;
      }
      if (min_free == "off" || min_free == "0") {
        run.min_free_bytes = 0;
        run.min_free_percent = 0;
      } else if (!min_free.empty() && min_free.back() == '%') {
        char* end = nullptr;
        double pct = std::strtod(min_free.c_str(), &end);
        if (end != min_free.c_str() + min_free.size() - 1 || !(pct > 0) || pct >= 100)
          return sigma::usage_error("--min-free: a percent above 0 and under 100, a size, or off; got '" + min_free +
                                    "'");
        run.min_free_bytes = 0;
        run.min_free_percent = pct;
      } else {
        auto b = sigma::parse_size(min_free);
        if (!b.is_ok()) return b.status().wrap("--min-free");
        if (*b <= 0) return sigma::usage_error("--min-free: must be above 0 (or off)");
        run.min_free_bytes = *b;
        run.min_free_percent = 0;
      }
      if (!(sweep_every > 0) || sweep_every > 86400) return sigma::usage_error("--sweep-every: 0 to 86400 seconds");
      run.sweep_every_ms = static_cast<int64_t>(std::llround(sweep_every * 1000));
      run.events = common.events;
      run.ready_fd = common.ready_fd;
      return sigma::dvr::run_archiver(run);
    }
    if (list_cmd->parsed()) return sigma::dvr::run_list(list);
    if (keep_cmd->parsed()) return sigma::dvr::run_keep(keep);
    return sigma::dvr::run_export_command(exp);
  });
}
