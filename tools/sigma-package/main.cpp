// sigma-package: MPEG-TS in, CMAF HLS (normal, low, ultra-low/LL-HLS) out.
// See sigma-package(1).
#include "base/cli.h"
#include "package/packager.h"

int main(int argc, char** argv) {
  CLI::App app{"sigma-package: package MPEG-TS into CMAF HLS. See sigma-package(1)."};
  sigma::CommonOptions common;
  sigma::add_common_options(app, common);
  sigma::package::PackageParams p;
  app.add_option("-i,--input", p.input, "MPEG-TS input: '-' (stdin), a file or a FIFO")->capture_default_str();
  app.add_option("-o,--output", p.out_dir, "channel directory to write")->required();
  app.add_option("--mode", p.mode, "normal (4 s segments), low (1 s) or ultra-low (2 s, LL-HLS parts)")
      ->check(CLI::IsMember({"normal", "low", "ultra-low"}))
      ->capture_default_str();
  app.add_option("--segment-duration", p.segment_duration, "target segment duration, seconds (default by mode)");
  app.add_option("--part-duration", p.part_duration, "ultra-low: part duration, 0.1-1 s (default 1/3)");
  app.add_option("--window", p.window, "segments listed per playlist; 0: all (default by mode)");
  app.add_option("--audio", p.audio, "muxed: audio inside each video variant's files; separate: its own rendition "
                                     "(default: muxed in ultra-low, separate otherwise)")
      ->check(CLI::IsMember({"muxed", "separate"}));
  app.add_flag("--keep", p.keep, "keep segment files that left the window (DVR)");
  app.add_option("--segment-prefix", p.segment_prefix, "segment file name prefix")->capture_default_str();
  app.add_option("--channel", p.channel, "channel name for events");
  app.add_option("--max-gap", p.max_gap, "forward timestamp jump, seconds, that starts a discontinuity")
      ->capture_default_str();
  app.add_flag("--once", p.once, "end at the first EOF even when the input is a FIFO");
  return sigma::run_main(app, argc, argv, "sigma-package", common,
                         [&] { return sigma::package::run_package(p, common); });
}
