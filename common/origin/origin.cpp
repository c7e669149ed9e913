#include "origin/origin.h"

#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <filesystem>
#include <thread>
#include <vector>

#include "base/events.h"
#include "base/log.h"
#include "base/signals.h"
#include "base/time.h"
#include "base/time_spec.h"
#include "http/access_log.h"
#include "http/server.h"
#include "origin/catchup_service.h"
#include "origin/dir_watcher.h"
#include "origin/file_store.h"
#include "origin/origin_service.h"
#include "origin/playback_auth.h"
#include "origin/signing.h"

namespace sigma::origin {
namespace {

namespace fs = std::filesystem;

// Thousands of held requests need thousands of descriptors.
void raise_fd_limit() {
  struct rlimit rl {};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// The watch page: --web-dir, else share/sigma/web next to the install, else
// the source tree's web/ (a build directory sits inside the checkout).
std::string find_web_dir(const std::string& given) {
  if (!given.empty()) return given;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return {};
  fs::path bin = exe.parent_path();
  for (const fs::path& cand : {bin / "../share/sigma/web", bin / "../../web", bin / "../../../web"})
    if (fs::exists(cand / "index.html", ec)) return fs::weakly_canonical(cand, ec).string();
  return {};
}

}  // namespace

Status run_origin(const OriginParams& p, CommonOptions& common) {
  if (p.threads < 1 || p.threads > 64) return usage_error("--threads must be between 1 and 64");
  raise_fd_limit();
  FileStoreOptions fo;
  fo.cache_bytes = p.cache_mb << 20;
  fo.max_cached_file = std::min<size_t>(fo.cache_bytes / 4, 16u << 20);
  SIGMA_ASSIGN_OR_RETURN(auto store, FileStore::open(p.root, fo));
  std::unique_ptr<FileStore> web;
  std::string web_dir = find_web_dir(p.web_dir);
  if (!web_dir.empty()) {
    auto w = FileStore::open(web_dir);
    if (!w) return w.status().wrap("--web-dir");
    web = std::move(*w);
  } else {
    spdlog::warn("watch page not found (use --web-dir); serving media only");
  }
  std::unique_ptr<PlaybackAuth> auth;
  if (!p.signed_channels.empty() || !p.signed_file.empty() || !p.playback_secret.empty()) {
    auto a = PlaybackAuth::open({p.signed_channels, p.signed_file, p.playback_secret});
    if (!a) return a.status();
    auth = std::move(*a);
    spdlog::info("{}", auth->describe());
  }
  http::AccessLog log;
  SIGMA_RETURN_IF_ERROR(log.open(p.access_log));
  EventWriter events;
  SIGMA_RETURN_IF_ERROR(events.open(common.events));

  OriginConfig cfg;
  cfg.hold_timeout = std::chrono::milliseconds(static_cast<int64_t>(p.hold_timeout_s * 1000));
  cfg.part_hold_timeout = cfg.hold_timeout;
  cfg.fresh_join = p.fresh_join;
  cfg.sessions = p.sessions;
  boost::asio::io_context ioc(p.threads);
  OriginService service(ioc, *store, web.get(), cfg);
  CatchupService catchup(*store);
  service.set_catchup(&catchup);
  service.set_auth(auth.get());
  http::ServerOptions so;
  so.write_timeout = std::chrono::seconds(p.send_timeout_s);
  // A token in a logged path or Referer is a credential until it expires.
  so.log_redact = [](std::string_view s) { return redact_path_token(s); };
  http::Server server(ioc, [&service](const std::shared_ptr<http::Exchange>& ex) { service.handle(ex); }, &log, so);
  service.set_server(&server);
  SIGMA_RETURN_IF_ERROR(server.listen(p.listen));
  DirWatcher watcher(
      ioc, store->root(), [&service](const std::string& rel) { service.file_ready(rel); },
      [&service] { service.wake_all(); });
  SIGMA_RETURN_IF_ERROR(watcher.start());

  // Stop on SIGTERM/SIGINT: stop accepting, answer held requests, let the
  // responses being written finish (at most 3 s), then return.
  int sfd = ::dup(stop_fd());
  if (sfd < 0) return errno_error("dup stop fd", errno);
  boost::asio::posix::stream_descriptor stopper(ioc, sfd);
  // SIGHUP: the signed channels and the secrets again (rotation); without
  // signed playback it changes nothing (and no longer ends the process).
  int hup = install_reload_handler();
  if (hup < 0) return errno_error("install SIGHUP handler", errno);
  int hfd = ::dup(hup);
  if (hfd < 0) return errno_error("dup SIGHUP fd", errno);
  boost::asio::posix::stream_descriptor hupper(ioc, hfd);
  std::function<void()> wait_hup = [&] {
    hupper.async_wait(boost::asio::posix::stream_descriptor::wait_read, [&](boost::system::error_code ec) {
      if (ec) return;
      take_reload_request();
      if (!auth) {
        spdlog::info("SIGHUP: no signed playback to reload");
      } else if (Status st = auth->reload(); !st) {
        spdlog::error("SIGHUP: {} (the previous signed playback settings stay)", st.message());
      } else {
        spdlog::info("SIGHUP: reloaded {}", auth->describe());
      }
      wait_hup();
    });
  };
  wait_hup();

  boost::asio::steady_timer drain(ioc);
  auto deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  std::function<void()> drain_step = [&] {
    if (server.writes_in_flight() == 0 || std::chrono::steady_clock::now() > *deadline) {
      ioc.stop();
      return;
    }
    drain.expires_after(std::chrono::milliseconds(20));
    drain.async_wait([&](boost::system::error_code) { drain_step(); });
  };
  stopper.async_wait(boost::asio::posix::stream_descriptor::wait_read, [&](boost::system::error_code) {
    spdlog::info("stopping");
    server.stop();
    watcher.stop();
    service.release_all();
    service.stop();
    hupper.cancel();
    catchup.stop();
    *deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    drain_step();
  });

  auto ep = server.local_endpoint();
  std::string url = "http://" + (ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string()) +
                    ":" + std::to_string(ep.port()) + "/";
  spdlog::info("serving {} at {} ({} threads, {} directories watched)", store->root(), url, p.threads,
               watcher.watched_directories());
  events.emit("origin.started", "", {{"url", url}, {"root", store->root()}});
  notify_ready(common.ready_fd);

  std::vector<std::thread> threads;
  for (int i = 1; i < p.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  events.emit("origin.stopped", "", {{"url", url}});
  return {};
}

Status run_sign(const SignParams& p) {
  if (p.channel.empty() || p.channel[0] == '_' || p.channel[0] == '.' || p.channel.find('/') != std::string::npos)
    return usage_error("sign: a channel name is needed (not '" + p.channel + "')");
  if (p.secret_file.empty()) return usage_error("sign: --secret FILE is needed (the origin's --playback-secret)");
  SIGMA_ASSIGN_OR_RETURN(int64_t ttl_ms, parse_duration(p.ttl));
  if (ttl_ms < 1000) return usage_error("sign: --ttl must be at least 1s");
  if (!valid_grant_address(p.ip)) return usage_error("sign: --ip '" + p.ip + "' is no IPv4 or IPv6 address");
  if (!p.viewer.empty() && !valid_viewer_id(p.viewer))
    return usage_error("sign: --viewer: 1 to 64 characters of A-Z a-z 0-9 - _");
  SIGMA_ASSIGN_OR_RETURN(auto secrets, load_playback_secrets(p.secret_file));
  PlaybackGrant g;
  g.channel = p.channel;
  g.expires_unix_s = (unix_ms_now() + ttl_ms + 999) / 1000;
  g.ip = p.ip;
  g.viewer = p.viewer;
  std::string token = mint_playback_token(secrets.front(), g);
  if (token.empty()) return internal_error("sign: no token made");
  std::string base = p.base.empty() ? "http://" + p.listen : p.base;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string line = base + signed_playback_path(p.channel, token) + "\n";
  if (::write(STDOUT_FILENO, line.data(), line.size()) != static_cast<ssize_t>(line.size()))
    return errno_error("write the URL", errno);
  return {};
}

}  // namespace sigma::origin
