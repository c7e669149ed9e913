// sigma-origin's own pages beside the channels: the status document and
// the watch page's files.
#include <nlohmann/json.hpp>

#include "origin/origin_service.h"
#include "origin/responses.h"

namespace sigma::origin {

namespace bhttp = boost::beast::http;
using http::Response;

// For operators and tests: what the origin holds right now.
void OriginService::serve_status(const std::shared_ptr<http::Exchange>& ex) {
  nlohmann::json j;
  {
    std::lock_guard lock(mu_);
    j["held_requests"] = held_;
    j["held_playlist_requests"] = held_ - held_parts_;
    j["held_part_requests"] = held_parts_;
    j["held_timed_out_total"] = timed_out_;
    j["held_hung_up_total"] = hung_up_;
  }
  if (server_) j["connections"] = server_->connections();
  j["cached_bytes"] = store_.cached_bytes();
  Response res = base_response(bhttp::status::ok);
  res.set(bhttp::field::content_type, "application/json");
  res.set(bhttp::field::cache_control, "no-store");
  http::set_text(res, j.dump() + "\n", ex->head());
  ex->send(std::move(res));
}

void OriginService::serve_web(const std::shared_ptr<http::Exchange>& ex, const std::string& name) {
  // Only the page's own files, and hls.js from node_modules, are reachable.
  static const std::unordered_map<std::string, std::string> kFiles = {
      {"index.html", "index.html"},
      {"watch.js", "watch.js"},
      {"watch.css", "watch.css"},
      {"golive.html", "golive.html"},  // the Go-live page (WHIP publisher)
      {"golive.js", "golive.js"},
      {"golive.css", "golive.css"},
      {"hls.min.js", "node_modules/hls.js/dist/hls.min.js"},
  };
  auto it = kFiles.find(name);
  if (!web_ || it == kFiles.end()) return ex->send(text_response(bhttp::status::not_found, "not found", ex->head()));
  auto got = web_->get(it->second);
  if (!std::holds_alternative<FileData>(got))
    return ex->send(text_response(bhttp::status::not_found, "watch page file missing: " + it->second, ex->head()));
  serve_file(ex, it->second, std::get<FileData>(got), kNoCache);
}

}  // namespace sigma::origin
