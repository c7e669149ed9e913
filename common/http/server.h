#pragma once
// An HTTP/1.1 server on Boost.Beast/Asio: asynchronous, one strand per
// connection, run by a few threads. A handler may answer at once or keep
// the Exchange and answer later from any thread (LL-HLS blocking reload
// holds thousands of requests this way without a thread each).
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "http/access_log.h"
#include "http/body.h"
#include "http/body_stream.h"

namespace sigma::http {

// A request's body is read into memory up to ServerOptions::max_body_bytes
// (0, the default: a request with a body is refused with 413).
using Request = boost::beast::http::request<boost::beast::http::string_body>;

class Connection;

// One request and the promise of one response.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(std::shared_ptr<Connection> conn, Request req, std::string client);
  const Request& request() const { return req_; }
  const std::string& client() const { return client_; }
  bool head() const { return req_.method() == boost::beast::http::verb::head; }
  // Sends the response (exactly once; later calls are ignored). Safe from
  // any thread: the write runs on the connection's strand.
  void send(Response res);
  // Sends bytes already serialized (status line, headers, body): one
  // response shared by thousands of held requests is built once.
  void send_wire(std::shared_ptr<const std::string> wire, int status, uint64_t body_bytes);
  // Sends the header of res (its Content-Length set by the caller) and then
  // the chunks another thread pushes into body, as they come. A write error
  // or a stop cancels body, so its producer stops.
  void send_stream(Response res, std::shared_ptr<BodyStream> body);
  bool sent() const { return sent_.load(); }
  // While the response is due, watches the connection for the client going
  // away (EOF or error; a half-close counts as gone, as in nginx). If it
  // does, f runs on the connection's strand, the response is dropped, the
  // connection closed and the access log says 499. A held request uses it
  // so a player that closed its tab frees its slot at once, not at the hold
  // timeout; it costs one wait on the socket, no timer.
  void on_hangup(std::function<void()> f);
  // The viewer session of this request, written in the access log. The
  // handler sets it before sending (origin/sessions.h decides it). mint:
  // none was given and the answer, if a master playlist, may start one.
  struct Session {
    std::string id;      // "": none
    std::string source;  // "path", "cmcd" or "token" (a signed URL's viewer id)
    bool mint = false;
  };
  Session& session() { return session_; }
  const Session& session() const { return session_; }
  // Runs on every response send() and send_stream() are given, just before
  // it is written (the origin caps a signed URL's caching at its token's
  // expiry). send_wire's bytes are already serialized: a handler that sets
  // a filter must not use it (has_response_filter says so).
  void set_response_filter(std::function<void(Response&)> f) { filter_ = std::move(f); }
  bool has_response_filter() const { return static_cast<bool>(filter_); }

 private:
  std::shared_ptr<Connection> conn_;
  Request req_;
  std::string client_;
  int64_t unix_ms_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> sent_{false};
  std::function<void()> hangup_;  // read on the connection's strand only
  Session session_;
  std::function<void(Response&)> filter_;
  friend class Connection;
};

using Handler = std::function<void(const std::shared_ptr<Exchange>&)>;

struct ServerOptions {
  std::chrono::seconds idle_timeout{60};  // keep-alive connection with no request
  // A client that stops reading is dropped after this long without progress
  // (between two successive writes, as nginx's send_timeout).
  std::chrono::seconds write_timeout{60};
  std::string server_name = "sigma-origin";
  // Largest request body read (an API's JSON, a WHIP offer); past it: 413.
  uint64_t max_body_bytes = 0;
  // Applied to the path, query and Referer of every access-log line (the
  // origin takes signed-URL tokens out: a credential is never logged).
  std::function<std::string(std::string_view)> log_redact;
};

// Status line and header fields, with the blank line that ends them.
std::string serialize_header(const Response& res);

// "127.0.0.1:8080", "[::1]:8080", ":8080" (all interfaces).
Result<boost::asio::ip::tcp::endpoint> parse_listen_address(const std::string& s);

class Server {
 public:
  Server(boost::asio::io_context& ioc, Handler handler, AccessLog* log, ServerOptions opts = {});
  ~Server();
  Status listen(const std::string& address);
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  // Stops accepting; open connections close after their current response.
  void stop();
  // Responses being written right now (for a graceful stop).
  int writes_in_flight() const;
  // Open client connections (for the status document).
  int connections() const;

  struct Shared;

 private:
  void do_accept();
  boost::asio::io_context& ioc_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<Shared> shared_;
  boost::asio::steady_timer retry_timer_;
};

}  // namespace sigma::http
