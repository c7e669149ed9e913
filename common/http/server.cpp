#include "http/server.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/sendfile.h>
#include <sys/socket.h>

#include <array>
#include <boost/beast/core.hpp>
#include <charconv>

#include "base/log.h"
#include "base/time.h"

namespace sigma::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct Server::Shared {
  Handler handler;
  AccessLog* log = nullptr;
  ServerOptions opts;
  std::atomic<bool> stopping{false};
  std::atomic<int> writes{0};
  std::atomic<int> connections{0};
};

// The socket's executor, kept with its concrete type: dispatching through
// the type-erased one costs an executor copy per call, thousands per wake-up.
using Strand = asio::strand<asio::io_context::executor_type>;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Strand strand, std::shared_ptr<Server::Shared> shared)
      : stream_(std::move(socket)), strand_(std::move(strand)), shared_(std::move(shared)) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) client_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    stream_.socket().set_option(tcp::no_delay(true), ec);
    stream_.socket().non_blocking(true, ec);  // direct sends and sendfile never wait
    shared_->connections.fetch_add(1, std::memory_order_relaxed);
  }

  ~Connection() { shared_->connections.fetch_sub(1, std::memory_order_relaxed); }

  void start() {
    asio::dispatch(strand_, [self = shared_from_this()] { self->do_read(); });
  }

  void watch_hangup(const std::shared_ptr<Exchange>& ex) {
    asio::dispatch(strand_, [self = shared_from_this(), ex] {
      if (ex->sent()) return;
      self->held_ = ex;
      // At most one wait per connection: one left over from an earlier
      // exchange on this connection serves the new one too.
      if (!self->watching_) self->arm_hangup_watch();
    });
  }

  void write(const std::shared_ptr<Exchange>& ex, std::shared_ptr<Response> res) {
    asio::dispatch(strand_, [self = shared_from_this(), ex, res] { self->do_write(ex, res); });
  }

  void write_stream(const std::shared_ptr<Exchange>& ex, std::shared_ptr<Response> res,
                    std::shared_ptr<BodyStream> body) {
    asio::dispatch(strand_, [self = shared_from_this(), ex, res, body] {
      self->held_.reset();
      self->shared_->writes.fetch_add(1);
      auto head = std::make_shared<const std::string>(serialize_header(*res));
      auto total = std::make_shared<uint64_t>(0);
      self->stream_.expires_after(self->shared_->opts.write_timeout);
      asio::async_write(self->stream_, asio::buffer(*head),
                        [self, ex, res, body, head, total](beast::error_code ec, size_t) {
                          if (ec) return self->stream_done(ec, *ex, *res, body, *total);
                          self->pump(ex, res, body, total);
                        });
    });
  }

  void write_wire(const std::shared_ptr<Exchange>& ex, std::shared_ptr<const std::string> wire, int status,
                  uint64_t bytes) {
    asio::dispatch(strand_, [self = shared_from_this(), ex, wire = std::move(wire), status, bytes] {
      self->held_.reset();
      self->shared_->writes.fetch_add(1);
      // Straight to the socket, and at once: such responses are small
      // (playlists, parts) and a held request's send buffer is empty, so
      // one non-blocking send nearly always takes all of it, with no
      // reactor operation, completion handler or write timer (that would
      // cost a timer update per response when thousands are woken at once).
      beast::error_code ec;
      size_t n = self->stream_.socket().write_some(asio::buffer(*wire), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
      // What follows the answer (the access log line, arming the next read,
      // freeing the request) waits behind the other woken requests' answers.
      if (ec || n == wire->size())
        return asio::post(self->strand_, [self, ex, ec, status, bytes] { self->wire_written(ec, *ex, status, bytes); });
      // A client that does not read: the rest waits, for write_timeout at most.
      self->stream_.expires_after(self->shared_->opts.write_timeout);
      asio::async_write(self->stream_, asio::buffer(*wire) + n,
                        [self, ex, wire, status, bytes](beast::error_code ec, size_t) {
                          self->wire_written(ec, *ex, status, bytes);
                        });
    });
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(shared_->opts.max_body_bytes);
    stream_.expires_after(shared_->opts.idle_timeout);
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      // A malformed request gets a 400 before we hang up; EOF, reset and
      // idle timeouts just close.
      if (&ec.category() == &beast::error_code(bhttp::error::bad_target).category() &&
          ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
        bool too_big = ec == bhttp::error::body_limit;
        auto res = std::make_shared<Response>(too_big ? bhttp::status::payload_too_large : bhttp::status::bad_request, 11);
        res->set(bhttp::field::server, shared_->opts.server_name);
        res->set(bhttp::field::content_type, "text/plain; charset=utf-8");
        set_text(*res, too_big ? "request body too large\n" : "bad request\n", false);
        res->keep_alive(false);
        auto ex = std::make_shared<Exchange>(shared_from_this(), Request{}, client_);
        ex->sent_ = true;
        do_write(ex, res);
        return;
      }
      close();
      return;
    }
    stream_.expires_never();  // a held request may wait; the handler bounds it
    auto ex = std::make_shared<Exchange>(shared_from_this(), parser_->release(), client_);
    try {
      shared_->handler(ex);
    } catch (const std::exception& e) {
      spdlog::error("handler: unexpected exception: {}", e.what());
      auto res = Response(bhttp::status::internal_server_error, 11);
      set_text(res, "internal error\n", ex->head());
      ex->send(std::move(res));
    }
  }

  // Header and in-memory body go out in one gather write; a body on disk
  // goes out with sendfile(2), as nginx does, so big segments are never
  // copied through user space.
  void do_write(const std::shared_ptr<Exchange>& ex, const std::shared_ptr<Response>& res) {
    held_.reset();
    shared_->writes.fetch_add(1);
    auto head = std::make_shared<const std::string>(serialize_header(*res));
    const auto& b = res->body();
    bool use_sendfile = b.length > 0 && b.file && (!b.bytes || b.length >= kSendfileMin);
    auto done = [self = shared_from_this(), ex, res](beast::error_code ec) {
      self->shared_->writes.fetch_sub(1);
      self->after_write(ec, *ex, res->result_int(), res->body().length, res->keep_alive());
    };
    stream_.expires_after(shared_->opts.write_timeout);
    if (use_sendfile) {
      // The header goes with MSG_MORE, so it rides in the first full
      // segment of the file instead of a packet of its own: nginx's
      // tcp_nopush without its two TCP_CORK calls per response. The send
      // buffer of a connection between responses is empty, so the header
      // nearly always goes at once; the rest waits for room.
      beast::error_code ec;
      size_t n = stream_.socket().send(asio::buffer(*head), MSG_MORE, ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) ec = {};
      if (ec) return done(ec);
      if (n == head->size()) return send_file(res, b.offset, b.length, done);
      asio::async_write(stream_, asio::buffer(*head) + n,
                        [self = shared_from_this(), head, res, done](beast::error_code ec, size_t) {
                          if (ec) return done(ec);
                          self->send_file(res, res->body().offset, res->body().length, done);
                        });
      return;
    }
    std::array<asio::const_buffer, 2> bufs{asio::buffer(*head),
                                           asio::const_buffer(b.bytes ? b.bytes->data() + b.offset : nullptr,
                                                              b.bytes ? b.length : 0)};
    asio::async_write(stream_, bufs, [head, res, done](beast::error_code ec, size_t) { done(ec); });
  }

  template <class Done>
  void send_file(const std::shared_ptr<Response>& res, uint64_t off, uint64_t left, Done done) {
    auto& sock = stream_.socket();  // non-blocking since the constructor
    while (left > 0) {
      off_t o = static_cast<off_t>(off);
      ssize_t n = ::sendfile(sock.native_handle(), res->body().file->fd(), &o,
                             static_cast<size_t>(std::min<uint64_t>(left, 4u << 20)));
      if (n > 0) {
        off += static_cast<uint64_t>(n);
        left -= static_cast<uint64_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        // The write timer of the stream does not cover a raw wait: arm our own.
        write_timer_.expires_after(shared_->opts.write_timeout);
        write_timer_.async_wait([self = shared_from_this()](beast::error_code e) {
          if (!e) self->stream_.socket().close(e);
        });
        sock.async_wait(tcp::socket::wait_write, [self = shared_from_this(), res, off, left, done](beast::error_code e) {
          self->write_timer_.cancel();
          if (e) return done(e);
          self->send_file(res, off, left, done);
        });
        return;
      }
      // The file shrank or the peer went away: the response is cut short.
      return done(n < 0 ? beast::error_code(errno, boost::system::system_category())
                        : beast::error_code(bhttp::error::short_read));
    }
    done(beast::error_code());
  }

  // The next chunk of a streamed body, written when the producer has it.
  void pump(const std::shared_ptr<Exchange>& ex, const std::shared_ptr<Response>& res,
            const std::shared_ptr<BodyStream>& body, const std::shared_ptr<uint64_t>& total) {
    stream_.expires_never();  // waiting for the producer is not the client's fault
    body->next([self = shared_from_this(), ex, res, body, total](std::optional<std::string> chunk, bool ok) {
      asio::dispatch(self->strand_, [self, ex, res, body, total, chunk = std::move(chunk), ok]() mutable {
        if (!chunk) {
          return self->stream_done(ok ? beast::error_code() : beast::error_code(bhttp::error::short_read), *ex, *res,
                                   body, *total);
        }
        auto data = std::make_shared<std::string>(std::move(*chunk));
        self->stream_.expires_after(self->shared_->opts.write_timeout);
        asio::async_write(self->stream_, asio::buffer(*data),
                          [self, ex, res, body, total, data](beast::error_code ec, size_t n) {
                            *total += n;
                            if (ec) return self->stream_done(ec, *ex, *res, body, *total);
                            self->pump(ex, res, body, total);
                          });
      });
    });
  }

  void stream_done(beast::error_code ec, const Exchange& ex, const Response& res,
                   const std::shared_ptr<BodyStream>& body, uint64_t bytes) {
    if (ec) body->cancel();
    shared_->writes.fetch_sub(1);
    after_write(ec, ex, res.result_int(), bytes, res.keep_alive());
  }

  void wire_written(beast::error_code ec, const Exchange& ex, int status, uint64_t bytes) {
    shared_->writes.fetch_sub(1);
    after_write(ec, ex, status, bytes, ex.req_.keep_alive());
  }

  void arm_hangup_watch() {
    watching_ = true;
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this()](beast::error_code ec) { self->on_readable(ec); });
  }

  // The socket of a held request became readable. The wait is not
  // cancelled when the response goes out (that would cost every wake-up a
  // cancellation), so it may also fire later, for the next request: held_
  // tells whether a response is still due.
  void on_readable(beast::error_code ec) {
    watching_ = false;
    auto ex = held_.lock();
    if (ec || !ex) return;
    char c;
    ssize_t n = ::recv(stream_.socket().native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n > 0) return;  // a pipelined request: the client is still there; it is read after this answer
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return arm_hangup_watch();
    held_.reset();
    if (ex->sent_.exchange(true)) return;  // the response is on its way; its write fails on its own
    log_exchange(*ex, 499, 0);            // nginx's "client closed request"
    if (ex->hangup_) ex->hangup_();
    close();
  }

  void log_exchange(const Exchange& ex, int status, uint64_t bytes) {
    if (shared_->log && shared_->log->enabled() && ex.req_.method() != bhttp::verb::unknown) {
      AccessRecord r;
      r.unix_ms = ex.unix_ms_;
      r.client = client_;
      r.method = std::string(ex.req_.method_string());
      std::string_view target = ex.req_.target();
      auto q = target.find('?');
      r.path = std::string(target.substr(0, q));
      if (q != std::string_view::npos) r.query = std::string(target.substr(q + 1));
      r.status = status;
      r.bytes = bytes;
      r.duration_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - ex.start_).count();
      if (auto it = ex.req_.find(bhttp::field::user_agent); it != ex.req_.end()) r.user_agent = it->value();
      if (auto it = ex.req_.find(bhttp::field::referer); it != ex.req_.end()) r.referer = it->value();
      if (const auto& redact = shared_->opts.log_redact) {
        r.path = redact(r.path);
        if (!r.query.empty()) r.query = redact(r.query);
        if (!r.referer.empty()) r.referer = redact(r.referer);
      }
      r.session = ex.session_.id;
      if (!r.session.empty()) r.session_source = ex.session_.source;
      shared_->log->write(r);
    }
  }

  void after_write(beast::error_code ec, const Exchange& ex, int status, uint64_t bytes, bool keep_alive) {
    log_exchange(ex, status, ec ? 0 : bytes);
    if (ec || !keep_alive || shared_->stopping.load()) {
      close();
      return;
    }
    do_read();
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  Strand strand_;
  std::shared_ptr<Server::Shared> shared_;
  beast::flat_buffer buffer_{8192};
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::string client_;
  asio::steady_timer write_timer_{stream_.get_executor()};
  std::weak_ptr<Exchange> held_;  // the exchange whose hang-up is watched
  bool watching_ = false;          // a wait for readability is pending
  static constexpr uint64_t kSendfileMin = 64 * 1024;
};

Exchange::Exchange(std::shared_ptr<Connection> conn, Request req, std::string client)
    : conn_(std::move(conn)),
      req_(std::move(req)),
      client_(std::move(client)),
      unix_ms_(unix_ms_now()),
      start_(std::chrono::steady_clock::now()) {}

void Exchange::send(Response res) {
  if (sent_.exchange(true)) return;
  if (filter_) filter_(res);
  res.version(11);
  if (!res.has_content_length() && res.result() != bhttp::status::no_content &&
      res.result() != bhttp::status::not_modified)
    res.content_length(res.body().length);
  res.keep_alive(req_.keep_alive());
  conn_->write(shared_from_this(), std::make_shared<Response>(std::move(res)));
}

std::string serialize_header(const Response& res) {
  std::string s;
  s.reserve(320);
  s += "HTTP/1.1 ";
  s += std::to_string(res.result_int());
  s += ' ';
  s += res.reason();
  s += "\r\n";
  for (const auto& f : res) {
    s += f.name_string();
    s += ": ";
    s += f.value();
    s += "\r\n";
  }
  s += "\r\n";
  return s;
}

void Exchange::on_hangup(std::function<void()> f) {
  hangup_ = std::move(f);
  conn_->watch_hangup(shared_from_this());
}

void Exchange::send_stream(Response res, std::shared_ptr<BodyStream> body) {
  if (sent_.exchange(true)) {
    body->cancel();
    return;
  }
  if (filter_) filter_(res);
  res.version(11);
  res.keep_alive(req_.keep_alive());
  conn_->write_stream(shared_from_this(), std::make_shared<Response>(std::move(res)), std::move(body));
}

void Exchange::send_wire(std::shared_ptr<const std::string> wire, int status, uint64_t body_bytes) {
  if (sent_.exchange(true)) return;
  conn_->write_wire(shared_from_this(), std::move(wire), status, body_bytes);
}

Result<tcp::endpoint> parse_listen_address(const std::string& s) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return usage_error("listen address '" + s + "': expected HOST:PORT");
  std::string host = s.substr(0, colon), port_s = s.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host.empty()) host = "0.0.0.0";
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_s.data(), port_s.data() + port_s.size(), port);
  if (ec != std::errc() || p != port_s.data() + port_s.size() || port > 65535)
    return usage_error("listen address '" + s + "': bad port '" + port_s + "'");
  beast::error_code aec;
  auto addr = asio::ip::make_address(host, aec);
  if (aec) return usage_error("listen address '" + s + "': '" + host + "' is not an IP address");
  return tcp::endpoint(addr, static_cast<unsigned short>(port));
}

Server::Server(asio::io_context& ioc, Handler handler, AccessLog* log, ServerOptions opts)
    : ioc_(ioc), acceptor_(asio::make_strand(ioc)), shared_(std::make_shared<Shared>()), retry_timer_(ioc) {
  shared_->handler = std::move(handler);
  shared_->log = log;
  shared_->opts = std::move(opts);
}

Server::~Server() = default;

Status Server::listen(const std::string& address) {
  SIGMA_ASSIGN_OR_RETURN(auto ep, parse_listen_address(address));
  beast::error_code ec;
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return system_error("listen on " + address + ": " + ec.message());
  do_accept();
  return {};
}

tcp::endpoint Server::local_endpoint() const {
  beast::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void Server::do_accept() {
  auto strand = asio::make_strand(ioc_);
  acceptor_.async_accept(strand, [this, strand](beast::error_code ec, tcp::socket socket) {
    if (shared_->stopping.load() || ec == asio::error::operation_aborted) return;
    if (ec) {
      // EMFILE and friends: back off instead of spinning on a full fd table.
      spdlog::warn("accept: {}", ec.message());
      retry_timer_.expires_after(std::chrono::milliseconds(100));
      retry_timer_.async_wait([this](beast::error_code e) {
        if (!e) do_accept();
      });
      return;
    }
    std::make_shared<Connection>(std::move(socket), strand, shared_)->start();
    do_accept();
  });
}

void Server::stop() {
  shared_->stopping.store(true);
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
    retry_timer_.cancel();
  });
}

int Server::writes_in_flight() const { return shared_->writes.load(); }

int Server::connections() const { return shared_->connections.load(std::memory_order_relaxed); }

}  // namespace sigma::http
