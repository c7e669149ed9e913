#pragma once
// Where the transcoder reads from, and whether it can come back. A FIFO
// path is reopened after its writer goes away (sigma-ingest restarting, a
// supervisor swapping the upstream); stdin, files and URLs end for good.
#include <string>

#include "av/av.h"

namespace sigma::transcode {

class InputSource {
 public:
  explicit InputSource(std::string url) : url_(std::move(url)) {}

  // Checks the input exists (a missing path is a usage error) and learns
  // what kind it is.
  Status probe();
  // A FIFO: open() after the end waits for the next writer.
  bool reopenable() const { return fifo_; }
  // Live: not a regular file, so "slower than real time" means falling
  // behind the sender rather than merely taking longer.
  bool live() const { return !regular_file_; }
  // Opens (for a FIFO: waits, interruptibly, for a writer and data).
  // Returns an empty pointer if a stop was requested while waiting.
  Result<av::InputPtr> open(const av::InputOptions& opts);
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  bool fifo_ = false, regular_file_ = false;
};

}  // namespace sigma::transcode
