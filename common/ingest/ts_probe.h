#pragma once
// Names the streams of an MPEG-TS source from its PAT and PMT, so that an
// SRT publisher's stream.started event says which codecs it sends. Only
// looks; the bytes pass through untouched.
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

namespace sigma::ingest {

class TsProbe {
 public:
  // Feeds whole 188-byte packets; true once the PMT has been read.
  bool feed(const uint8_t* data, size_t size);
  bool done() const { return done_; }
  // {"video": "h264", "audio": "aac", "streams": N}; empty before done().
  const nlohmann::json& info() const { return info_; }

 private:
  void section(int pid, const uint8_t* s, size_t n);

  int pmt_pid_ = -1;
  bool done_ = false;
  nlohmann::json info_ = nlohmann::json::object();
};

}  // namespace sigma::ingest
