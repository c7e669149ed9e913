#pragma once
// The header of a progressive MP4 (ftyp + moov + the mdat box header),
// built from sample tables: every trak copies its init segment's tkhd,
// hdlr, minf headers and stsd byte for byte, and gets stts, ctts, stss,
// stsz, stsc and stco (co64 past 4 GB) of its own. The caller lays out
// chunks after the header; offsets are relative to the file's start.
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "dvr/mp4_read.h"

namespace sigma::dvr::mp4 {

inline constexpr uint32_t kMovieTimescale = 1000;

struct OutTrack {
  const InitTrack* init = nullptr;  // the trak to copy
  uint32_t id = 0;                  // track_ID in the output
  std::vector<uint32_t> sizes, durations;
  std::vector<int32_t> ctos;     // per sample; empty: all 0
  std::vector<uint32_t> syncs;   // 1-based sample numbers; empty with all_sync
  bool all_sync = true;
  std::vector<uint32_t> chunk_samples;  // samples per chunk, in chunk order
  std::vector<uint64_t> chunk_offsets;  // file offset of each chunk
  // Edit list: an empty edit of empty_movie (movie timescale) first, then
  // the media from media_time (media timescale) on.
  int64_t empty_movie = 0;
  int64_t media_time = 0;
  int64_t presentation_end = 0;  // max(dts + cto + duration), media timescale

  int64_t media_duration() const;
  // What is presented: media_duration - media_time, in movie units, plus
  // the empty edit.
  int64_t movie_duration() const;
  void add(uint32_t size, uint32_t duration, int32_t cto, bool sync);
  void extend_last(uint32_t by) {  // a hole after the last sample
    durations.back() += by;
    dts_end_ += by;
  }

 private:
  int64_t dts_end_ = 0;
};

// ftyp + moov. co64: 64-bit chunk offsets.
Result<std::string> build_header(const std::vector<OutTrack>& tracks, bool co64);

// The mdat box header for payload bytes of media.
std::string mdat_header(uint64_t payload);

}  // namespace sigma::dvr::mp4
