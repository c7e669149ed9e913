#include "base/push_url.h"

#include <cctype>

namespace sigma {

Result<PushUrl> parse_push_url(const std::string& url) {
  // Errors show the scheme and host only (none of the URL before the
  // scheme is known): a URL that does not parse may have its key where
  // redact_url() would not look for it.
  std::string shown;
  auto bad = [&](const std::string& why) -> Status { return usage_error("restream URL " + shown + ": " + why); };
  auto sep = url.find("://");
  if (sep == std::string::npos) return usage_error("restream URL: want rtmp://, rtmps:// or srt://HOST...");
  PushUrl u;
  u.scheme = url.substr(0, sep);
  for (auto& c : u.scheme) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (u.scheme == "rtmp" || u.scheme == "rtmps") u.kind = PushKind::kFlv;
  else if (u.scheme == "srt") u.kind = PushKind::kMpegTs;
  else return usage_error("restream URL: unknown scheme '" + u.scheme.substr(0, 16) + "' (rtmp, rtmps or srt)");
  size_t auth = sep + 3;
  size_t end = url.find_first_of("/?", auth);
  std::string hostport = url.substr(auth, end == std::string::npos ? std::string::npos : end - auth);
  if (hostport.find('@') != std::string::npos) hostport = hostport.substr(hostport.rfind('@') + 1);
  shown = u.scheme + "://" + hostport.substr(0, 64) + "/***";
  std::string port;
  if (!hostport.empty() && hostport[0] == '[') {
    auto close = hostport.find(']');
    if (close == std::string::npos) return bad("unclosed '[' in the host");
    u.host = hostport.substr(1, close - 1);
    if (close + 1 < hostport.size()) {
      if (hostport[close + 1] != ':') return bad("junk after the IPv6 address");
      port = hostport.substr(close + 2);
    }
  } else {
    auto colon = hostport.rfind(':');
    u.host = hostport.substr(0, colon);
    if (colon != std::string::npos) port = hostport.substr(colon + 1);
  }
  for (char c : url)
    if (std::isspace(static_cast<unsigned char>(c)) || std::iscntrl(static_cast<unsigned char>(c)))
      return bad("contains a blank or control character");
  if (u.host.empty()) return bad("no host");
  for (char c : u.host)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != ':' && c != '_')
      return bad("bad character in the host");
  if (hostport.find(':') != std::string::npos || !port.empty()) {
    if (port.empty() || port.size() > 5) return bad("bad port");
    for (char c : port)
      if (!std::isdigit(static_cast<unsigned char>(c))) return bad("bad port");
    u.port = std::stoi(port);
    if (u.port < 1 || u.port > 65535) return bad("port out of range");
  }
  if (u.kind == PushKind::kFlv) {
    // rtmp://host[:port]/APP/STREAM-KEY: the server needs both.
    std::string path = end == std::string::npos ? "" : url.substr(end);
    if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
    auto second = path.size() > 1 ? path.find('/', 1) : std::string::npos;
    if (path.empty() || path[0] != '/' || second == std::string::npos || second == 1 || second + 1 >= path.size())
      return bad("want " + u.scheme + "://HOST[:PORT]/APP/STREAM-KEY");
  } else if (u.port == 0) {
    return bad("SRT has no default port: want srt://HOST:PORT[?streamid=...]");
  }
  return u;
}

bool valid_push_target_name(const std::string& name) {
  if (name.empty() || name.size() > 32) return false;
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') return false;
  return true;
}

}  // namespace sigma
