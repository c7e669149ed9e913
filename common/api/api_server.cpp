#include "api/api_server.h"

#include <boost/asio.hpp>
#include <thread>

#include "api/event_hub.h"
#include "api/openapi.h"
#include "api/router.h"
#include "base/log.h"
#include "base/time.h"
#include "http/server.h"

namespace sigma::api {

namespace bhttp = boost::beast::http;

struct ApiServer::Impl {
  ApiServerOptions opts;
  boost::asio::io_context ioc{1};
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<EventHub> hub;
  std::unique_ptr<http::Server> server;
  std::thread thread;
};

Result<bool> is_loopback_address(const std::string& listen) {
  SIGMA_ASSIGN_OR_RETURN(auto ep, http::parse_listen_address(listen));
  return ep.address().is_loopback();
}

ApiServer::ApiServer(Backend& backend) : backend_(backend) {}
ApiServer::~ApiServer() { stop(); }

bool ApiServer::running() const { return impl_ != nullptr; }
const ApiServerOptions& ApiServer::options() const {
  static const ApiServerOptions none;
  return impl_ ? impl_->opts : none;
}

namespace {

void send_reply(const std::shared_ptr<http::Exchange>& ex, const ApiReply& r) {
  http::Response res(static_cast<bhttp::status>(r.status), 11);
  res.set(bhttp::field::server, "sigma-supervisor");
  res.set(bhttp::field::content_type, r.content_type);
  res.set(bhttp::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  for (auto& [k, v] : r.headers) res.set(k, v);
  http::set_text(res, r.body, ex->head());
  ex->send(std::move(res));
}

}  // namespace

Status ApiServer::start(const ApiServerOptions& opts) {
  stop();
  SIGMA_ASSIGN_OR_RETURN(bool loopback, is_loopback_address(opts.listen));
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->auth = std::make_unique<Authenticator>(AuthOptions{opts.tokens_file, opts.max_failures, opts.failure_window_ms});
  auto has = impl->auth->has_tokens();
  if (!has) return has.status().wrap("api");
  if (!loopback && !*has)
    return usage_error("api = " + opts.listen + " is not a loopback address and " + opts.tokens_file +
                       " holds no token: refusing to listen (make one with `sigma-supervisor token new NAME --scope "
                       "write`, or listen on 127.0.0.1)");
  if (!*has)
    spdlog::warn("API: {} holds no token yet: every request under /v1 is refused (sigma-supervisor token new)",
                 opts.tokens_file);
  impl->hub = std::make_unique<EventHub>(opts.heartbeat_ms);
  http::ServerOptions so;
  so.server_name = "sigma-supervisor";
  so.max_body_bytes = opts.max_body_bytes;
  so.idle_timeout = std::chrono::seconds(30);
  Impl* ip = impl.get();
  Backend* backend = &backend_;
  impl->server = std::make_unique<http::Server>(
      impl->ioc,
      [ip, backend](const std::shared_ptr<http::Exchange>& ex) {
        const auto& req = ex->request();
        ApiRequest r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        if (auto it = req.find(bhttp::field::authorization); it != req.end()) r.authorization = std::string(it->value());
        r.client = ex->client();
        r.body = req.body();
        std::string path = target_path(r.target);
        if (path == "/healthz" && (r.method == "GET" || r.method == "HEAD"))
          return send_reply(ex, {200, "text/plain; charset=utf-8", "ok\n", {}});
        if (path != "/v1" && path.rfind("/v1/", 0) != 0)
          return send_reply(ex, error_reply(404, "not_found", "the API is under /v1 (see /v1/openapi.json)"));
        Match m = match_route(r.method, path);
        std::string who;
        if (auto refused = ip->auth->check(r, m.route ? m.route->scope : Scope::kRead, who, unix_ms_now()))
          return send_reply(ex, *refused);
        if (!m.route) {
          if (m.status == 405) {
            ApiReply rep = error_reply(405, "method_not_allowed", "this path takes " + m.allow);
            rep.headers.push_back({"Allow", m.allow});
            return send_reply(ex, rep);
          }
          return send_reply(ex, error_reply(404, "not_found", "no such endpoint (see /v1/openapi.json)"));
        }
        auto made = make_call(r, m);
        if (auto* rep = std::get_if<ApiReply>(&made)) return send_reply(ex, *rep);
        Call call = std::get<Call>(std::move(made));
        call.token_name = who;
        if (call.op == Op::kOpenApi) return send_reply(ex, {200, "application/json", openapi_document(), {}});
        if (call.op == Op::kEvents) {
          EventFilter f{call.query.count("channel") ? call.query["channel"] : "",
                        call.query.count("type") ? call.query["type"] : ""};
          auto body = ip->hub->subscribe(f, who + "@" + address_of(r.client));
          if (!body) return send_reply(ex, error_reply(503, "unavailable", "too many event subscribers"));
          http::Response res(bhttp::status::ok, 11);
          res.set(bhttp::field::server, "sigma-supervisor");
          res.set(bhttp::field::content_type, "text/event-stream");
          res.set(bhttp::field::cache_control, "no-store");
          res.set(bhttp::field::transfer_encoding, "chunked");
          res.set("X-Accel-Buffering", "no");
          ex->send_stream(std::move(res), body);
          return;
        }
        if (call.op != Op::kGetChannel && call.op != Op::kListChannels)
          spdlog::info("API: {} {} by token '{}' from {}", r.method, path, who, address_of(r.client));
        backend->handle(std::move(call), [ex](ApiReply rep) { send_reply(ex, rep); });
      },
      nullptr, so);
  SIGMA_RETURN_IF_ERROR(impl->server->listen(opts.listen).wrap("api"));
  impl->thread = std::thread([ip] {
    auto guard = boost::asio::make_work_guard(ip->ioc);
    ip->ioc.run();
  });
  impl_ = std::move(impl);
  spdlog::info("API on http://{}/v1 (tokens in {})", opts.listen, opts.tokens_file);
  return {};
}

void ApiServer::stop() {
  if (!impl_) return;
  impl_->hub->stop();
  impl_->server->stop();
  // Open connections (a held event stream) end with the loop.
  impl_->ioc.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->server.reset();
  impl_.reset();
}

void ApiServer::publish(const nlohmann::json& event) {
  if (impl_) impl_->hub->publish(event);
}

}  // namespace sigma::api
