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
#include "http/access_log.h"
#include "http/server.h"
#include "origin/catchup_service.h"
#include "origin/dir_watcher.h"
#include "origin/file_store.h"
#include "origin/origin_service.h"

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
  http::ServerOptions so;
  so.write_timeout = std::chrono::seconds(p.send_timeout_s);
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

}  // namespace sigma::origin
