#pragma once
// sigma-ingest's library entry point: the event loop that serves RTMP
// publishers, takes SRT and pull inputs from their threads, and writes
// each channel's MPEG-TS to its output, or packages RTMP channels into HLS
// in-process (--hls, --hls-channel).
#include <cstddef>
#include <string>
#include <vector>

#include "base/cli.h"
#include "base/status.h"
#include "package/package_params.h"

namespace sigma::ingest {

struct IngestParams {
  std::string rtmp_listen;  // HOST:PORT; empty: no RTMP
  std::string srt_listen;   // HOST:PORT; empty: no SRT
  std::string srt_passphrase_file;
  std::string whip_listen;  // HOST:PORT of the WHIP HTTP endpoint; empty: no WHIP
  std::string whip_udp;     // [ADDR:]MIN-MAX for ICE; empty: any
  double whip_keyframe_interval = 0;  // s; 0: the channel's segment duration
  int srt_latency_ms = 120;
  std::string keys_file;
  bool open_mode = false;
  bool replace = false;
  bool listed_only = false;  // --listed-only: publishers only for channels of --hls-channel/--channels
  std::vector<std::string> inputs;    // -i URL...
  std::vector<std::string> channels;  // --channel NAME, one per -i (or the stdout channel)
  std::string output_template;        // contains {channel}; empty: stdout
  std::string hls_template;               // --hls: contains {channel}; empty: none
  std::vector<std::string> hls_channels;  // --hls-channel NAME=DIR[,key=value...]
  std::string channels_file;              // --channels: more such specs, one a line, re-read on SIGHUP
  package::PackageParams hls_defaults;    // --mode, --segment-duration, --part-duration, --window
  std::string record_dir;
  std::string status_file;
  std::vector<std::string> restream;  // --restream CHANNEL.NAME=URL
  size_t buffer_kib = 4096;
  int timeout_s = 10;
  int max_connections = 256;
  size_t max_message_kib = 8192;
};

Status run_ingest(const IngestParams& params, CommonOptions& common);

}  // namespace sigma::ingest
