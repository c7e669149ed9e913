#pragma once
// The pictures sigma-thumb shows: keyframes demuxed from an fMP4 segment
// (its init and the .m4s, fed to libavformat from memory), decoded with
// the decoder told to skip everything else, scaled with libswscale and
// encoded as JPEG (libavcodec's mjpeg, full range). Only the keyframes
// asked for are decoded.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "av/av.h"
#include "base/status.h"

namespace sigma::thumb {

// One keyframe of a segment: its offset from the segment's first sample.
struct KeyframeRef {
  int index = 0;          // among the segment's video keyframes
  int64_t offset_ms = 0;  // presentation time minus the first packet's
};

// A segment opened for reading keyframes. Everything is in memory: init
// and segment bytes are read once; packets are not decoded until asked.
class SegmentReader {
 public:
  // init_path may be "" (a self-initialising segment). A missing file is a
  // system error, unreadable media a data error.
  static Result<std::unique_ptr<SegmentReader>> open(const std::string& init_path, const std::string& seg_path);
  ~SegmentReader();

  const std::vector<KeyframeRef>& keyframes() const { return keys_; }
  // Decodes keyframe i (of keyframes()); the frame is the decoder's.
  Result<const AVFrame*> decode(int i);

 private:
  SegmentReader() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::vector<KeyframeRef> keys_;
};

// The height for a picture w wide with the frame's display aspect, even.
int scaled_height(const AVFrame* f, int w);

// f scaled to w x h and encoded as a JPEG.
Result<std::string> encode_jpeg(const AVFrame* f, int w, int h);

// A sprite sheet being filled: a full-range 4:2:0 canvas of cols x rows
// tiles, kept in memory and encoded whole when a tile is added.
class SheetCanvas {
 public:
  static Result<std::unique_ptr<SheetCanvas>> make(int width, int height);
  // Loads an existing sheet's JPEG (a restart); a size mismatch or an
  // undecodable file is a data error.
  Status load_jpeg(const std::string& path);
  // f scaled into the tile at (x, y), w x h (all even).
  Status put(const AVFrame* f, int x, int y, int w, int h);
  Result<std::string> encode() const;

 private:
  av::FramePtr frame_;
};

}  // namespace sigma::thumb
