#include "webrtc/whip_sdp.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <sstream>

namespace sigma::webrtc {

namespace {

std::vector<std::string> split_lines(std::string_view text) {
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    std::string line(text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos));
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!line.empty()) lines.push_back(std::move(line));
    if (nl == std::string_view::npos) break;
    pos = nl + 1;
  }
  return lines;
}

std::string lower(std::string s) {
  for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The payload type an "a=rtpmap:PT ...", "a=fmtp:PT ..." or
// "a=rtcp-fb:PT ..." line is about; -1 for other lines (and "*").
int attribute_pt(const std::string& line) {
  for (const char* prefix : {"a=rtpmap:", "a=fmtp:", "a=rtcp-fb:"}) {
    size_t n = std::char_traits<char>::length(prefix);
    if (line.compare(0, n, prefix) != 0) continue;
    size_t end = line.find(' ', n);
    std::string pt = line.substr(n, end == std::string::npos ? std::string::npos : end - n);
    if (pt.empty() || !std::all_of(pt.begin(), pt.end(), ::isdigit) || pt.size() > 3) return -1;
    return std::stoi(pt);
  }
  return -1;
}

struct Section {
  std::string media;  // video, audio, application, ...
  std::vector<std::string> mline;  // m= fields
  std::vector<std::string> lines;  // after the m= line
};

std::string fmtp_value(const std::string& fmtp, const std::string& key) {
  std::string f = lower(fmtp);
  size_t pos = f.find(key + "=");
  if (pos == std::string::npos) return "";
  size_t end = f.find(';', pos);
  return f.substr(pos + key.size() + 1, end == std::string::npos ? std::string::npos : end - pos - key.size() - 1);
}

}  // namespace

Result<OfferCheck> check_offer(std::string_view text) {
  auto lines = split_lines(text);
  if (lines.empty() || lines[0] != "v=0")
    return data_error("not an SDP offer: the body must start with v=0 (Content-Type: application/sdp)");
  for (const auto& l : lines)
    if (l.size() < 2 || l[1] != '=' || !std::islower(static_cast<unsigned char>(l[0])))
      return data_error("malformed SDP line '" + l.substr(0, 40) + "'");
  std::vector<std::string> session;
  std::vector<Section> sections;
  for (auto& l : lines) {
    if (l.rfind("m=", 0) == 0) {
      Section s;
      std::istringstream in(l.substr(2));
      for (std::string f; in >> f;) s.mline.push_back(f);
      if (s.mline.size() < 4) return data_error("malformed SDP media line '" + l.substr(0, 60) + "'");
      s.media = s.mline[0];
      sections.push_back(std::move(s));
    } else if (sections.empty()) {
      session.push_back(l);
    } else {
      sections.back().lines.push_back(l);
    }
  }
  if (sections.empty()) return data_error("the SDP offer has no media section (m=)");
  bool has_ufrag = false, has_fingerprint = false;
  for (auto* group : {&session}) {
    for (auto& l : *group) {
      has_ufrag |= l.rfind("a=ice-ufrag:", 0) == 0;
      has_fingerprint |= l.rfind("a=fingerprint:", 0) == 0;
    }
  }
  OfferCheck out;
  std::ostringstream sdp;
  // A BUNDLE group whose sections keep their own ICE credentials (aiortc
  // 1.4: bundling only if the answer takes it) is answered unbundled:
  // webrtcbin's max-bundle refuses such an offer.
  std::set<std::string> ufrags;
  for (auto& s : sections)
    for (auto& l : s.lines)
      if (l.rfind("a=ice-ufrag:", 0) == 0) ufrags.insert(l);
  for (auto& l : session) {
    bool group = l.rfind("a=group:BUNDLE", 0) == 0;
    if (group && ufrags.size() > 1) continue;
    sdp << l << "\r\n";
    out.bundle |= group;
  }
  for (auto& s : sections) {
    bool sec_ufrag = false, sec_fp = false;
    std::map<int, std::string> rtpmap, fmtp;  // pt -> "h264/90000", params
    for (auto& l : s.lines) {
      sec_ufrag |= l.rfind("a=ice-ufrag:", 0) == 0;
      sec_fp |= l.rfind("a=fingerprint:", 0) == 0;
      int pt = attribute_pt(l);
      if (pt < 0) continue;
      size_t sp = l.find(' ');
      std::string rest = sp == std::string::npos ? "" : l.substr(sp + 1);
      if (l.rfind("a=rtpmap:", 0) == 0) rtpmap[pt] = lower(rest);
      else if (l.rfind("a=fmtp:", 0) == 0) fmtp[pt] = rest;
    }
    if (!(has_ufrag || sec_ufrag) || !(has_fingerprint || sec_fp))
      return data_error("the SDP offer's " + s.media + " section has no ICE credentials or DTLS fingerprint (a=ice-ufrag, a=fingerprint)");
    std::vector<std::string> offered;  // codec names, in the offer's order
    std::set<std::string> seen;
    int chosen = -1, score = -1;
    for (size_t i = 3; i < s.mline.size(); ++i) {
      const std::string& f = s.mline[i];
      if (f.empty() || !std::all_of(f.begin(), f.end(), ::isdigit) || f.size() > 3) continue;
      int pt = std::stoi(f);
      std::string name = rtpmap.count(pt) ? rtpmap[pt].substr(0, rtpmap[pt].find('/')) : "pt " + f;
      if (name != "rtx" && name != "red" && name != "ulpfec" && name != "flexfec-03" && seen.insert(name).second)
        offered.push_back(name);
      int sc = -1;
      if (s.media == "video" && name == "h264") {
        std::string fp = fmtp.count(pt) ? fmtp[pt] : "";
        std::string profile = fmtp_value(fp, "profile-level-id");
        sc = fmtp_value(fp, "packetization-mode") == "1" ? 2 : 0;
        if (profile.rfind("42e0", 0) == 0 || profile.rfind("4200", 0) == 0) sc += 1;
      } else if (s.media == "audio" && name == "opus") {
        sc = 1;
      }
      if (sc > score) {
        score = sc;
        chosen = pt;
      }
    }
    if (s.media != "video" && s.media != "audio")
      return data_error("the SDP offer has a " + s.media + " section: WHIP takes audio and video only");
    if (chosen < 0) {
      std::string list;
      for (auto& n : offered) list += (list.empty() ? "" : ", ") + (n == "h264" ? "H.264" : n == "opus" ? "Opus" : [&] {
        std::string u = n;
        for (auto& c : u) c = char(std::toupper(static_cast<unsigned char>(c)));
        return u;
      }());
      return data_error("the SDP offer has " + s.media + " in " + (list.empty() ? "no codec" : list) +
                        " only: sigma-ingest takes H.264 video and Opus audio");
    }
    if (s.media == "video") {
      if (out.video) return data_error("the SDP offer has more than one video section: WHIP takes one video and one audio track");
      out.video = true;
      out.video_pt = chosen;
      out.video_fmtp = fmtp.count(chosen) ? fmtp[chosen] : "";
    } else {
      if (out.audio) return data_error("the SDP offer has more than one audio section: WHIP takes one video and one audio track");
      out.audio = true;
      out.audio_pt = chosen;
    }
    sdp << "m=" << s.mline[0] << ' ' << s.mline[1] << ' ' << s.mline[2] << ' ' << chosen << "\r\n";
    for (auto& l : s.lines) {
      int pt = attribute_pt(l);
      if (pt >= 0 && pt != chosen) continue;
      // Header extensions and SSRC groups of the dropped RTX stream are
      // harmless; the FID group would name an SSRC with no payload type.
      if (l.rfind("a=ssrc-group:FID", 0) == 0) continue;
      sdp << l << "\r\n";
    }
  }
  out.sdp = sdp.str();
  return out;
}

std::vector<std::string> sdpfrag_candidates(std::string_view frag, std::string& ufrag) {
  std::vector<std::string> out;
  for (auto& l : split_lines(frag)) {
    if (l.rfind("a=candidate:", 0) == 0) out.push_back(l.substr(2));
    else if (l.rfind("a=ice-ufrag:", 0) == 0 && ufrag.empty()) ufrag = l.substr(12);
  }
  return out;
}

std::string sdp_ice_ufrag(std::string_view sdp) {
  for (auto& l : split_lines(sdp))
    if (l.rfind("a=ice-ufrag:", 0) == 0) return l.substr(12);
  return "";
}

}  // namespace sigma::webrtc
