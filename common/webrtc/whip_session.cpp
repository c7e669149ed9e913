#include "webrtc/whip_session.h"

#include <gst/app/gstappsink.h>
#define GST_USE_UNSTABLE_API  // webrtc's headers ask for it
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "base/log.h"
#include "base/time.h"

namespace sigma::webrtc {

namespace {

// Media queued for an owner that stopped taking it: beyond this, dropped.
constexpr size_t kMaxQueuedBytes = 32 << 20;

void init_gstreamer() {
  static std::once_flag once;
  std::call_once(once, [] { gst_init(nullptr, nullptr); });
}

GstElement* E(void* p) { return static_cast<GstElement*>(p); }

std::string buffer_bytes(GstBuffer* b) {
  GstMapInfo map;
  if (!b || !gst_buffer_map(b, &map, GST_MAP_READ)) return "";
  std::string s(reinterpret_cast<const char*>(map.data), map.size);
  gst_buffer_unmap(b, &map);
  return s;
}

// Waits for a webrtcbin promise; the reply's "error" field, if any, as a
// status.
Status wait_promise(GstPromise* p, const std::string& what, GstWebRTCSessionDescription** answer = nullptr) {
  GstPromiseResult r = gst_promise_wait(p);
  Status st;
  if (r != GST_PROMISE_RESULT_REPLIED) {
    st = system_error(what + ": no reply from webrtcbin");
  } else if (const GstStructure* reply = gst_promise_get_reply(p)) {
    GError* err = nullptr;
    if (gst_structure_has_field(reply, "error")) {
      gst_structure_get(reply, "error", G_TYPE_ERROR, &err, nullptr);
      st = data_error(what + ": " + (err ? err->message : "refused"));
      if (err) g_error_free(err);
    } else if (answer) {
      gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, answer, nullptr);
      if (!*answer) st = system_error(what + ": webrtcbin gave no answer");
    }
  } else if (answer) {
    st = system_error(what + ": webrtcbin gave no answer");
  }
  gst_promise_unref(p);
  return st;
}

void pad_added_cb(GstElement*, GstPad* pad, gpointer self) { static_cast<WhipSession*>(self)->on_pad_added(pad); }

GstFlowReturn video_sample_cb(GstAppSink* sink, gpointer self) {
  static_cast<WhipSession*>(self)->on_sample(true, sink);
  return GST_FLOW_OK;
}
GstFlowReturn audio_sample_cb(GstAppSink* sink, gpointer self) {
  static_cast<WhipSession*>(self)->on_sample(false, sink);
  return GST_FLOW_OK;
}

void state_cb(GstElement*, GParamSpec*, gpointer self) { static_cast<WhipSession*>(self)->on_state_change(); }

GstBusSyncReply bus_cb(GstBus*, GstMessage* msg, gpointer self) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* err = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    std::string what = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(msg))) + ": " + (err ? err->message : "error");
    if (err) g_error_free(err);
    g_free(dbg);
    static_cast<WhipSession*>(self)->on_bus_error(what);
  }
  return GST_BUS_PASS;  // popped and freed in close()
}

// The local description with the candidates webrtcbin reported, for a
// version that leaves them out of it.
std::string with_candidates(std::string sdp, const std::vector<std::pair<unsigned, std::string>>& cands) {
  if (sdp.find("a=candidate:") != std::string::npos || cands.empty()) return sdp;
  std::string out;
  unsigned mline = 0;
  bool in_media = false;
  auto flush = [&] {
    if (!in_media) return;
    for (auto& [m, c] : cands)
      if (m == mline - 1) out += "a=" + c + "\r\n";
    out += "a=end-of-candidates\r\n";
  };
  size_t pos = 0;
  while (pos < sdp.size()) {
    size_t nl = sdp.find('\n', pos);
    std::string line = sdp.substr(pos, nl == std::string::npos ? std::string::npos : nl + 1 - pos);
    if (line.rfind("m=", 0) == 0) {
      flush();
      in_media = true;
      ++mline;
    }
    out += line;
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  flush();
  return out;
}

}  // namespace

Status check_webrtc_support() {
  init_gstreamer();
  static const std::pair<const char*, const char*> kNeeded[] = {
      {"webrtcbin", "gstreamer1.0-plugins-bad"},    {"nicesrc", "gstreamer1.0-nice"},
      {"dtlssrtpdec", "gstreamer1.0-plugins-bad"},  {"srtpdec", "gstreamer1.0-plugins-bad"},
      {"rtpbin", "gstreamer1.0-plugins-good"},      {"rtph264depay", "gstreamer1.0-plugins-good"},
      {"h264parse", "gstreamer1.0-plugins-bad"},    {"rtpopusdepay", "gstreamer1.0-plugins-good"},
      {"opusdec", "gstreamer1.0-plugins-base"},     {"audioconvert", "gstreamer1.0-plugins-base"},
      {"audioresample", "gstreamer1.0-plugins-base"}, {"avenc_aac", "gstreamer1.0-libav"},
      {"appsink", "gstreamer1.0-plugins-base"},
  };
  for (auto& [name, pkg] : kNeeded) {
    GstElementFactory* f = gst_element_factory_find(name);
    if (!f) return system_error(std::string("WHIP needs the GStreamer element ") + name + " (Debian package " + pkg + ")");
    gst_object_unref(f);
  }
  return {};
}

Result<std::unique_ptr<WhipSession>> WhipSession::create(const OfferCheck& offer, const WhipOptions& opts,
                                                         std::function<void()> wake) {
  init_gstreamer();
  std::unique_ptr<WhipSession> s(new WhipSession());
  s->wake_ = std::move(wake);
  s->opts_ = opts;
  Status st = s->start(offer, opts);
  if (!st.is_ok()) {
    s->close();
    return st;
  }
  return s;
}

WhipSession::~WhipSession() { close(); }

Status WhipSession::start(const OfferCheck& offer, const WhipOptions& opts) {
  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* webrtc = gst_element_factory_make("webrtcbin", nullptr);
  if (!pipeline || !webrtc) {
    if (pipeline) gst_object_unref(pipeline);
    if (webrtc) gst_object_unref(webrtc);
    return system_error("create webrtcbin (gstreamer1.0-plugins-bad, gstreamer1.0-nice installed?)");
  }
  pipeline_ = pipeline;
  webrtc_ = webrtc;
  gst_bin_add(GST_BIN(pipeline), webrtc);
  g_object_set(webrtc, "bundle-policy",
               offer.bundle ? GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE : GST_WEBRTC_BUNDLE_POLICY_NONE, "latency", guint(opts.jitter_latency_ms),
               nullptr);
  GstWebRTCICE* ice = nullptr;
  g_object_get(webrtc, "ice-agent", &ice, nullptr);
  if (ice) {
    if (opts.port_max > 0) {
      g_object_set(ice, "max-rtp-port", guint(opts.port_max), nullptr);
      g_object_set(ice, "min-rtp-port", guint(opts.port_min), nullptr);
    }
    g_object_set(ice, "ice-tcp", FALSE, nullptr);
    if (!opts.address.empty() && opts.address != "0.0.0.0") {
      gboolean ok = FALSE;
      g_signal_emit_by_name(ice, "add-local-ip-address", opts.address.c_str(), &ok);
      if (!ok) {
        gst_object_unref(ice);
        return usage_error("WHIP UDP address '" + opts.address + "' refused by libnice");
      }
    }
    gst_object_unref(ice);
  }
  std::vector<std::pair<unsigned, std::string>> cands;
  std::mutex cands_mu;
  struct Collector {
    std::vector<std::pair<unsigned, std::string>>* v;
    std::mutex* mu;
  } collector{&cands, &cands_mu};
  gulong cand_handler = g_signal_connect(
      webrtc, "on-ice-candidate", G_CALLBACK(+[](GstElement*, guint mline, gchar* c, gpointer p) {
        auto* col = static_cast<Collector*>(p);
        std::lock_guard lk(*col->mu);
        col->v->emplace_back(mline, c ? c : "");
      }),
      &collector);
  g_signal_connect(webrtc, "pad-added", G_CALLBACK(pad_added_cb), this);
  g_signal_connect(webrtc, "notify::connection-state", G_CALLBACK(state_cb), this);
  g_signal_connect(webrtc, "notify::ice-connection-state", G_CALLBACK(state_cb), this);
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_bus_set_sync_handler(bus, bus_cb, this, nullptr);
  gst_object_unref(bus);
  if (gst_element_set_state(pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    g_signal_handler_disconnect(webrtc, cand_handler);
    return system_error("start the WebRTC pipeline");
  }

  GstSDPMessage* sdp = nullptr;
  gst_sdp_message_new(&sdp);
  Status st;
  if (gst_sdp_message_parse_buffer(reinterpret_cast<const guint8*>(offer.sdp.data()), guint(offer.sdp.size()), sdp) !=
      GST_SDP_OK) {
    gst_sdp_message_free(sdp);
    st = data_error("the SDP offer does not parse");
  }
  if (st.is_ok()) {
    GstWebRTCSessionDescription* desc = gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_OFFER, sdp);
    GstPromise* p = gst_promise_new();
    g_signal_emit_by_name(webrtc, "set-remote-description", desc, p);
    st = wait_promise(p, "set the offer");
    gst_webrtc_session_description_free(desc);
  }
  GstWebRTCSessionDescription* answer = nullptr;
  if (st.is_ok()) {
    GstPromise* p = gst_promise_new();
    g_signal_emit_by_name(webrtc, "create-answer", nullptr, p);
    st = wait_promise(p, "create the answer", &answer);
  }
  if (st.is_ok()) {
    GstPromise* p = gst_promise_new();
    g_signal_emit_by_name(webrtc, "set-local-description", answer, p);
    st = wait_promise(p, "set the answer");
  }
  if (answer) gst_webrtc_session_description_free(answer);
  if (st.is_ok()) {
    // No trickle: the answer carries every candidate, so wait for them.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.gather_timeout_ms);
    for (;;) {
      GstWebRTCICEGatheringState gs = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
      g_object_get(webrtc, "ice-gathering-state", &gs, nullptr);
      if (gs == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) break;
      if (std::chrono::steady_clock::now() > deadline) {
        spdlog::warn("WHIP: ICE gathering not complete after {} ms; answering with the candidates so far",
                     opts.gather_timeout_ms);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    GstWebRTCSessionDescription* local = nullptr;
    g_object_get(webrtc, "local-description", &local, nullptr);
    if (!local) {
      st = system_error("webrtcbin has no local description");
    } else {
      gchar* text = gst_sdp_message_as_text(local->sdp);
      std::lock_guard lk(cands_mu);
      answer_ = with_candidates(text ? text : "", cands);
      g_free(text);
      gst_webrtc_session_description_free(local);
      if (answer_.find("a=candidate:") == std::string::npos)
        st = system_error("no local ICE candidate (is --whip-udp's address on this host?)");
    }
  }
  g_signal_handler_disconnect(webrtc, cand_handler);
  return st;
}

void WhipSession::on_pad_added(void* p) {
  GstPad* pad = static_cast<GstPad*>(p);
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (!caps) caps = gst_pad_query_caps(pad, nullptr);
  const GstStructure* s = caps ? gst_caps_get_structure(caps, 0) : nullptr;
  std::string enc = s && gst_structure_get_string(s, "encoding-name") ? gst_structure_get_string(s, "encoding-name") : "";
  if (caps) gst_caps_unref(caps);
  bool video = enc == "H264";
  std::string desc;
  if (video) {
    desc = "rtph264depay request-keyframe=true wait-for-keyframe=true ! h264parse config-interval=-1 ! "
           "video/x-h264,stream-format=avc,alignment=au ! appsink name=sink sync=false";
  } else if (enc == "OPUS") {
    desc = "rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=2 ! "
           "avenc_aac bitrate=" + std::to_string(opts_.aac_bitrate) +
           " ! audio/mpeg,mpegversion=4,stream-format=raw ! appsink name=sink sync=false";
  } else {
    desc = "fakesink sync=false";  // the answer named no other codec
    spdlog::warn("WHIP: unexpected RTP stream '{}' dropped", enc);
  }
  GError* err = nullptr;
  GstElement* bin = gst_parse_bin_from_description(desc.c_str(), TRUE, &err);
  if (!bin) {
    on_bus_error(std::string("build the receive chain: ") + (err ? err->message : "?"));
    if (err) g_error_free(err);
    return;
  }
  if (err) g_error_free(err);
  if (GstElement* sink = gst_bin_get_by_name(GST_BIN(bin), "sink")) {
    GstAppSinkCallbacks cbs{};
    cbs.new_sample = video ? video_sample_cb : audio_sample_cb;
    gst_app_sink_set_callbacks(GST_APP_SINK(sink), &cbs, this, nullptr);
    if (video) {
      std::lock_guard lk(mu_);
      if (video_sink_) gst_object_unref(E(video_sink_));
      video_sink_ = sink;  // keeps the reference
    } else {
      gst_object_unref(sink);
    }
  }
  gst_bin_add(GST_BIN(pipeline_), bin);
  gst_element_sync_state_with_parent(bin);
  GstPad* sinkpad = gst_element_get_static_pad(bin, "sink");
  if (gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK) on_bus_error("link the " + enc + " receive chain");
  gst_object_unref(sinkpad);
}

void WhipSession::on_sample(bool video, void* s) {
  GstSample* sample = gst_app_sink_pull_sample(GST_APP_SINK(s));
  if (!sample) return;
  GstBuffer* b = gst_sample_get_buffer(sample);
  GstCaps* caps = gst_sample_get_caps(sample);
  const GstSegment* seg = gst_sample_get_segment(sample);
  WhipUnit u;
  u.video = video;
  if (b && GST_BUFFER_PTS_IS_VALID(b)) {
    GstClockTime pts = GST_BUFFER_PTS(b);
    GstClockTime dts = GST_BUFFER_DTS_IS_VALID(b) ? GST_BUFFER_DTS(b) : pts;
    if (seg && seg->format == GST_FORMAT_TIME) {
      pts = gst_segment_to_running_time(seg, GST_FORMAT_TIME, pts);
      GstClockTime d = gst_segment_to_running_time(seg, GST_FORMAT_TIME, dts);
      dts = GST_CLOCK_TIME_IS_VALID(d) ? d : pts;
    }
    if (GST_CLOCK_TIME_IS_VALID(pts)) {
      u.pts_us = int64_t(pts / 1000);
      u.dts_us = std::min<int64_t>(int64_t(dts / 1000), u.pts_us);
      u.key = !video || !GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
      u.data = buffer_bytes(b);
    }
  }
  if (caps && !u.data.empty()) {
    const GstStructure* st = gst_caps_get_structure(caps, 0);
    const GValue* cd = gst_structure_get_value(st, "codec_data");
    std::string config = cd && G_VALUE_HOLDS(cd, GST_TYPE_BUFFER) ? buffer_bytes(gst_value_get_buffer(cd)) : "";
    std::string& last = video ? vconfig_ : aconfig_;
    if (!config.empty() && config != last) {
      last = config;
      u.config = config;
      if (video) {
        gst_structure_get_int(st, "width", &u.width);
        gst_structure_get_int(st, "height", &u.height);
      } else {
        gst_structure_get_int(st, "rate", &u.sample_rate);
        gst_structure_get_int(st, "channels", &u.channels);
      }
    }
  }
  gst_sample_unref(sample);
  if (u.data.empty()) return;
  bytes_ += u.data.size();
  last_media_ms_ = monotonic_ms();
  push(std::move(u));
}

void WhipSession::push(WhipUnit u) {
  {
    std::lock_guard lk(mu_);
    if (queued_bytes_ + u.data.size() > kMaxQueuedBytes) return;
    queued_bytes_ += u.data.size();
    queue_.push_back(std::move(u));
  }
  if (wake_) wake_();
}

std::deque<WhipUnit> WhipSession::take() {
  // The sync handler has seen every message (errors): free them. Messages
  // left queued hold references to their sources, and the pipeline, its
  // threads and its sockets would never be freed.
  if (!closed_ && pipeline_) {
    GstBus* bus = gst_element_get_bus(E(pipeline_));
    while (GstMessage* m = gst_bus_pop(bus)) gst_message_unref(m);
    gst_object_unref(bus);
  }
  std::lock_guard lk(mu_);
  queued_bytes_ = 0;
  return std::exchange(queue_, {});
}

void WhipSession::on_state_change() {
  GstWebRTCPeerConnectionState cs = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
  GstWebRTCICEConnectionState is = GST_WEBRTC_ICE_CONNECTION_STATE_NEW;
  g_object_get(E(webrtc_), "connection-state", &cs, "ice-connection-state", &is, nullptr);
  if (cs == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED) connected_ = true;
  const char* why = nullptr;
  if (cs == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED) why = "connection failed (DTLS)";
  else if (cs == GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED) why = "connection closed";
  else if (is == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED) why = "ICE failed";
  if (why) on_bus_error(why);
}

void WhipSession::on_bus_error(const std::string& what) {
  {
    std::lock_guard lk(mu_);
    if (failure_.empty()) failure_ = what;
  }
  failed_ = true;
  if (wake_) wake_();
}

bool WhipSession::failed(std::string* why) const {
  if (!failed_) return false;
  if (why) {
    std::lock_guard lk(mu_);
    *why = failure_;
  }
  return true;
}

void WhipSession::add_remote_candidate(const std::string& candidate) {
  std::lock_guard lk(close_mu_);
  if (closed_ || !webrtc_) return;
  g_signal_emit_by_name(E(webrtc_), "add-ice-candidate", guint(0), candidate.c_str());
}

void WhipSession::request_keyframe() {
  GstElement* sink = nullptr;
  {
    std::lock_guard lk(mu_);
    if (video_sink_) sink = E(gst_object_ref(video_sink_));
  }
  if (!sink) return;
  // Travels upstream to rtpsession, which sends RTCP PLI to the publisher.
  gst_element_send_event(sink, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, FALSE, 0));
  gst_object_unref(sink);
}

void WhipSession::close() {
  std::lock_guard lk(close_mu_);
  if (closed_.exchange(true)) return;
  if (pipeline_) {
    gst_element_set_state(E(pipeline_), GST_STATE_NULL);
    GstBus* bus = gst_element_get_bus(E(pipeline_));
    gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
    while (GstMessage* m = gst_bus_pop(bus)) gst_message_unref(m);
    gst_bus_set_flushing(bus, TRUE);
    gst_object_unref(bus);
  }
  {
    std::lock_guard lk(mu_);
    if (video_sink_) gst_object_unref(E(video_sink_));
    video_sink_ = nullptr;
  }
  if (pipeline_) gst_object_unref(E(pipeline_));
  pipeline_ = webrtc_ = nullptr;
}

}  // namespace sigma::webrtc
