#pragma once
// A range of the archive as one progressive MP4 (moov before mdat, plays
// in a browser): the video of one variant and its audio (muxed in the
// variant, or the audio rendition), cut at the keyframe at or before
// from_ms and ending at to_ms, audio in sync, breaks of the source closed
// up. Used by `sigma-dvr export` (a file, written atomically) and by
// sigma-origin (/CHANNEL/archive-FROM-DURATION.mp4, streamed).
//
// Two steps so that an HTTP response can send Content-Length and the moov
// before any media byte: plan() reads the index and the segments' moof
// boxes and fixes every byte of the output; write() then produces it.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "dvr/index.h"

namespace sigma::dvr {

struct ExportRequest {
  int64_t from_ms = 0, to_ms = 0;
  std::string variant;  // a track name; "": the variant with the highest BANDWIDTH in master.m3u8
};

// Where the bytes go, in order. Returning an error stops the export.
using ExportSink = std::function<Status(const char* data, size_t size)>;
// bytes written so far, of total.
using ExportProgress = std::function<void(uint64_t done, uint64_t total)>;

class ExportPlan {
 public:
  virtual ~ExportPlan() = default;
  virtual uint64_t size() const = 0;      // the output's exact byte count
  virtual int64_t from_ms() const = 0;    // where it really starts (the keyframe)
  virtual int64_t to_ms() const = 0;      // and ends
  virtual double duration_s() const = 0;  // media duration of the output
  virtual Status write(const ExportSink& sink, const ExportProgress& progress = {}) const = 0;
  // The same bytes into a file descriptor open for writing (a file, at its
  // offset): the samples go by copy_file_range(2), kernel to kernel, where
  // the file systems allow, else through a buffer. Half the CPU of write()
  // into a file sink for an hour of 6 Mbit/s (bench/dvr-export.sh).
  virtual Status write_fd(int fd, const ExportProgress& progress = {}) const;
};

// Errors: nothing archived in the range -> data error "nothing archived
// between ... and ..."; an unknown variant -> usage error.
Result<std::unique_ptr<ExportPlan>> plan_export(const Index& index, const ExportRequest& req);

}  // namespace sigma::dvr
