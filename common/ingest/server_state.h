#pragma once
// The ingest event loop's state, shared by server.cpp (sockets, the loop,
// outputs) and channel_sessions.cpp (keys, channels, sessions, the inbox
// from the SRT and pull threads). Internal to the ingest layer.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "base/events.h"
#include "ingest/channel.h"
#include "ingest/hls_config.h"
#include "ingest/inbox.h"
#include "ingest/keys.h"
#include "ingest/packaging_thread.h"
#include "ingest/pull_input.h"
#include "ingest/restream_config.h"
#include "ingest/rtmp_connection.h"
#include "ingest/server.h"
#include "ingest/srt_listener.h"
#include "ingest/status_report.h"
#include "ingest/whip_ingest.h"

namespace sigma::ingest::detail {

// epoll tags below the first connection id.
constexpr uint64_t kTagListen = 1, kTagInbox = 2, kTagStop = 3, kTagReload = 4, kFirstId = 100;
constexpr uint64_t kTagWhip = 9;  // WhipIngest's eventfd
constexpr size_t kMaxChannels = 1024;
// Media waiting for the packaging thread, all HLS channels together: about
// 13 s of 20 channels at 4 Mbit/s, so only a disk stalled for seconds
// makes it drop.
constexpr size_t kPackagingQueueBytes = 128 << 20;

class Server : public ChannelHub {
 public:
  Server(const IngestParams& p, CommonOptions& common) : p_(p), common_(common) {}
  ~Server() override {
    whip_.reset();  // its sessions write into channels_
    if (srt_) srt_->stop();
    pulls_.clear();
    conns_.clear();
    channels_.clear();
    packaging_.reset();  // runs what is queued
    if (listen_fd_ >= 0) ::close(listen_fd_);
    if (epfd_ >= 0) ::close(epfd_);
  }
  Status run();

  Channel* begin_publish(const std::string& key, const std::string& protocol, const std::string& remote,
                         uint64_t source, rtmp::PublishVerdict& verdict) override;
  void stream_started(Channel& ch, const nlohmann::json& info) override;
  void end_publish(Channel& ch, uint64_t source, const std::string& reason) override;
  // A publish with a channel's backup key: the backup input of its failover.
  Channel* begin_backup(const std::string& name, const std::string& remote, uint64_t source,
                        rtmp::PublishVerdict& verdict);

 private:
  Status setup();
  Status listen_rtmp();
  void accept_rtmp(int64_t now);
  void close_connection(uint64_t id, const std::string& reason);
  void watch(RtmpConnection& c);
  void drain_inbox(int64_t now);
  void housekeeping(int64_t now);
  Status flush_outputs(int64_t now);
  Status drain_outputs_at_exit();
  void shutdown_sessions();
  void close_hls();  // ends every HLS playlist and waits for the packaging thread
  // Channel name for a key, or nullopt with a reason. Thread-safe (SRT
  // calls it from libsrt's threads).
  std::optional<std::string> resolve(const std::string& key, std::string& reason, bool& busy);
  Result<Channel*> channel(const std::string& name);
  void reject(const std::string& protocol, const std::string& remote, const std::string& reason);
  void start_session(Channel& ch, uint64_t owner, const std::string& protocol, const std::string& remote);
  void kick(Channel& ch, const std::string& reason);
  bool has_listeners() const { return listen_fd_ >= 0 || srt_ != nullptr || whip_ != nullptr; }
  // The CLI's routes plus the --channels file's, checked against the -i
  // inputs (which never go in-process).
  // restream: also the --restream targets plus the file's restream lines.
  Result<std::shared_ptr<const HlsConfig>> load_routes(std::shared_ptr<const RestreamConfig>* restream = nullptr) const;
  // SIGHUP: re-reads --keys and --channels. A bad file keeps everything as
  // it was; a channel whose routing changed loses its publisher and output.
  void reload();
  void retire_channel(const std::string& name, bool output_changed);
  // Snapshots: replaced whole on reload, read by SRT threads too.
  std::shared_ptr<const KeyStore> keys() const {
    std::lock_guard lk(live_mu_);
    return keys_;
  }
  std::shared_ptr<const HlsConfig> routes() const {
    std::lock_guard lk(live_mu_);
    return routes_;
  }

  const IngestParams& p_;
  CommonOptions& common_;
  EventWriter events_;
  std::shared_ptr<const KeyStore> keys_;        // null: no --keys
  std::shared_ptr<const HlsConfig> cli_routes_;  // --hls, --hls-channel
  std::shared_ptr<const HlsConfig> routes_;      // those and --channels
  RestreamConfig cli_restream_;                     // --restream
  std::shared_ptr<const RestreamConfig> restream_;  // those and the --channels file's (loop thread only)
  // Runs every HLS channel's packaging (made with the first one); declared
  // after events_ (which it writes) so that it is joined first.
  std::unique_ptr<PackagingThread> packaging_;
  bool single_target_ = true;  // stdout or a path without {channel}
  int epfd_ = -1;
  int listen_fd_ = -1;
  Inbox inbox_;
  std::map<uint64_t, std::unique_ptr<RtmpConnection>> conns_;
  std::map<uint64_t, bool> watching_out_;
  std::map<std::string, std::unique_ptr<Channel>> channels_;
  std::map<uint64_t, Channel*> byte_sources_;  // SRT and pull sources
  std::map<uint64_t, size_t> unacked_;         // pull bytes waiting for output room
  std::set<uint64_t> pull_ids_;
  std::set<uint64_t> paced_pulls_;  // flow-controlled (files, FIFOs)
  std::vector<std::unique_ptr<PullInput>> pulls_;
  std::unique_ptr<SrtListener> srt_;
  std::unique_ptr<WhipIngest> whip_;
  Status start_whip();  // whip_server.cpp
  std::atomic<uint64_t> next_id_{kFirstId};
  ServerCounters counters_;
  mutable std::mutex live_mu_;  // guards keys_, routes_ and the two below, read by SRT threads
  std::set<std::string> live_names_;
  std::string single_channel_;
  size_t pulls_running_ = 0;
  Status pull_status_;
  int64_t last_status_ms_ = 0;
  int64_t last_tick_ms_ = 0;
};

}  // namespace sigma::ingest::detail
