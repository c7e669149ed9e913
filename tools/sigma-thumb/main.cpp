// sigma-thumb: a channel's live preview, seek sprites with WebVTT, and
// posters from the archive. See sigma-thumb(1).
#include <sstream>
#include <string>

#include "base/cli.h"
#include "base/time_spec.h"
#include "base/time.h"
#include "thumb/engine.h"
#include "thumb/files.h"

namespace {

sigma::Result<int64_t> positive_ms(const std::string& text, const char* what) {
  auto d = sigma::parse_duration(text);
  if (!d.is_ok()) return d.status().wrap(what);
  if (*d <= 0) return sigma::usage_error(std::string(what) + ": must be above 0");
  return *d;
}

// "160x90" -> (160, 90), even, 2..max.
sigma::Status read_pair(const std::string& text, const char* what, int max, bool even, int& a, int& b) {
  char x = 0, extra = 0;
  if (std::sscanf(text.c_str(), "%d%c%d%c", &a, &x, &b, &extra) != 3 || x != 'x' || a < 1 || b < 1 || a > max ||
      b > max || (even && (a % 2 || b % 2)))
    return sigma::usage_error(std::string(what) + ": '" + text + "' is not WxH" + (even ? " (even numbers)" : "") +
                              " up to " + std::to_string(max));
  return {};
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sigma-thumb: a channel's live preview (thumbs/latest.jpg), seek sprites for WebVTT, and posters "
               "from the archive. See sigma-thumb(1)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  app.require_subcommand(1);

  sigma::thumb::RunParams run;
  std::string every = "2s", widths = "320", sprite_every = "10s", tile = "160x90", grid = "10x10";
  auto* run_cmd = app.add_subcommand("run", "follow segment.written events; keep thumbs/ up to date");
  run_cmd->fallthrough();
  run_cmd->add_option("--dir", run.dir, "the channel directory (sigma-package -o)")->required();
  run_cmd->add_option("--channel", run.channel, "only this channel's events");
  run_cmd->add_option("--events-in", run.events_in, "segment.written events: '-' (stdin), a file (followed), fd:N")
      ->capture_default_str();
  run_cmd->add_option("--every", every, "latest*.jpg at most this often, media time: 2s, 10s")->capture_default_str();
  run_cmd->add_option("--widths", widths, "widths of latest-W.jpg, comma-separated; latest.jpg is the first")
      ->capture_default_str();
  run_cmd->add_option("--sprite-every", sprite_every, "one sprite tile per this much media")->capture_default_str();
  run_cmd->add_option("--tile", tile, "sprite tile size WxH (even)")->capture_default_str();
  run_cmd->add_option("--grid", grid, "tiles per sheet COLSxROWS")->capture_default_str();

  sigma::thumb::AtParams at;
  auto* at_cmd = app.add_subcommand("at", "write one picture of the archive at a time");
  at_cmd->add_option("CHANNEL_DIR", at.dir, "the channel directory")->required();
  at_cmd->add_option("--time", at.time, "ISO 8601 (2026-12-03T10:00:00Z), Unix seconds, now or -1h")->required();
  at_cmd->add_option("--width", at.width, "the picture's width in pixels (even)")->capture_default_str();
  at_cmd->add_option("-o,--output", at.out, "the JPEG to write (atomically: <out>.tmp, then renamed)")->required();

  std::string vtt_dir, vtt_from, vtt_to, vtt_prefix = "thumbs/";
  auto* vtt_cmd = app.add_subcommand("vtt", "print the WebVTT seek previews of a range (as the origin serves them)");
  vtt_cmd->add_option("CHANNEL_DIR", vtt_dir, "the channel directory")->required();
  vtt_cmd->add_option("--from", vtt_from, "start, as --time")->required();
  vtt_cmd->add_option("--to", vtt_to, "end, as --time")->required();
  vtt_cmd->add_option("--prefix", vtt_prefix, "how the cues' URLs reach thumbs/")->capture_default_str();

  return sigma::run_main(app, argc, argv, "sigma-thumb", common, [&]() -> sigma::Status {
    if (at_cmd->parsed()) return sigma::thumb::run_at(at);
    if (vtt_cmd->parsed()) {
      int64_t now = sigma::unix_ms_now();
      SIGMA_ASSIGN_OR_RETURN(int64_t from, sigma::parse_time(vtt_from, now));
      SIGMA_ASSIGN_OR_RETURN(int64_t to, sigma::parse_time(vtt_to, now));
      if (to <= from) return sigma::usage_error("--to must be after --from");
      SIGMA_ASSIGN_OR_RETURN(auto tiles, sigma::thumb::tiles_in_range(vtt_dir, from, to));
      std::string out = sigma::thumb::make_vtt(tiles, from, to, vtt_prefix);
      if (std::fwrite(out.data(), 1, out.size(), stdout) != out.size() || std::fflush(stdout) != 0)
        return sigma::system_error("write stdout");
      return {};
    }
    SIGMA_ASSIGN_OR_RETURN(run.every_ms, positive_ms(every, "--every"));
    SIGMA_ASSIGN_OR_RETURN(run.sprite_every_ms, positive_ms(sprite_every, "--sprite-every"));
    run.widths.clear();
    std::stringstream ws(widths);
    for (std::string w; std::getline(ws, w, ',');) {
      char* end = nullptr;
      long v = std::strtol(w.c_str(), &end, 10);
      if (w.empty() || *end || v < 16 || v > 7680 || v % 2)
        return sigma::usage_error("--widths: '" + w + "' is not an even width of 16 to 7680 pixels");
      run.widths.push_back(static_cast<int>(v));
    }
    if (run.widths.empty()) return sigma::usage_error("--widths: at least one width");
    SIGMA_RETURN_IF_ERROR(read_pair(tile, "--tile", 1920, true, run.tile_w, run.tile_h));
    SIGMA_RETURN_IF_ERROR(read_pair(grid, "--grid", 100, false, run.cols, run.rows));
    if (run.cols * run.tile_w > 8192 || run.rows * run.tile_h > 8192)
      return sigma::usage_error("--tile x --grid: a sheet larger than 8192 pixels a side");
    run.events = common.events;
    run.ready_fd = common.ready_fd;
    return sigma::thumb::run_thumb(run);
  });
}
