#pragma once
// A channel: the output that outlives its publishers (no EOF between
// sessions; for HLS, one set of playlists), the current session's state and recorder, and the figures
// the status file and events report. Owned by the event loop thread.
#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "ingest/channel_output.h"
#include "ingest/failover.h"
#include "ingest/hls_sink.h"
#include "ingest/recorder.h"
#include "ingest/restream.h"
#include "ingest/ts_probe.h"
#include "ingest/ts_sink.h"

namespace sigma::ingest {

struct Channel {
  std::string name;
  std::unique_ptr<ChannelOutput> output;  // MPEG-TS out; null for an HLS channel
  std::unique_ptr<HlsSink> hls;           // --hls: packaged in-process
  std::unique_ptr<SessionRecorder> recorder;
  // Restream targets: a sink of every RTMP session (made with the channel,
  // empty until configured).
  std::unique_ptr<ChannelRestream> restream;

  // Current session (live == false between sessions).
  bool live = false;
  uint64_t owner = 0;  // connection or source id
  std::string protocol;
  std::string remote;
  int64_t started_mono_ms = 0;
  int64_t started_unix_ms = 0;
  uint64_t session_bytes_in = 0;
  nlohmann::json info = nlohmann::json::object();
  std::string ts_remainder;  // TS byte sources: a packet cut across reads
  bool flow_controlled = false;
  // TS sources: stream.started waits for the PMT (or two seconds).
  bool announce_pending = false;
  TsProbe probe;
  nlohmann::json start_info = nlohmann::json::object();

  // Lifetime figures.
  uint64_t sessions = 0;
  uint64_t bytes_in = 0;
  uint64_t video_frames = 0;
  uint64_t dropped_packets = 0;  // media the muxer could not place
  int64_t last_packet_mono_ms = 0;

  // Rates over the last status period.
  uint64_t rate_bytes = 0, rate_frames = 0;
  double input_kbps = 0, fps = 0;

  // Failover (a backup and/or a slate configured): the publishers write
  // into the switch, which feeds the outputs (failover_ts: its MPEG-TS
  // muxer for the output and the recording). Last: destroyed first.
  std::unique_ptr<TsSink> failover_ts;
  std::unique_ptr<InputSwitch> failover;

  // An MPEG-TS muxer is needed: for the output or for the recording.
  bool wants_ts() const { return output || recorder; }
  void write_ts(const uint8_t* data, size_t size, bool bounded = true) {
    if (output) output->write(data, size, bounded);
    if (recorder) recorder->write(data, size);
  }
};

}  // namespace sigma::ingest
