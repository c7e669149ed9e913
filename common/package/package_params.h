#pragma once
#include <string>

namespace sigma::package {

// sigma-package's command line, after parsing (see sigma-package(1)).
struct PackageParams {
  std::string input = "-";  // "-" (stdin), a file or a FIFO (reopened after EOF)
  std::string out_dir;
  std::string mode = "normal";  // normal | low | ultra-low
  double segment_duration = 0;  // 0: mode default (4, 1, 2: package/modes.h)
  double part_duration = 0;     // ultra-low; 0: 1/3 s
  int window = -1;              // segments in a playlist; -1: mode default; 0: all
  std::string audio;            // muxed | separate; "": muxed in ultra-low, separate otherwise
  bool keep = false;
  std::string segment_prefix = "seg";
  std::string channel;
  double max_gap = 5;
  bool once = false;  // a FIFO's EOF ends the run instead of waiting for a writer
};

}  // namespace sigma::package
