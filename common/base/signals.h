#pragma once
// Stop requests: SIGINT and SIGTERM set a flag and make stop_fd() readable,
// so event loops can poll() it beside their sockets. SIGPIPE is ignored:
// a reader that goes away is an EPIPE to handle, not a death. A tool that
// reloads its configuration on SIGHUP polls the fd that
// install_reload_handler returns the same way.
namespace sigma {

void install_stop_handlers();
bool stop_requested();
// Readable once a stop was requested; never drained. -1 before install.
int stop_fd();
// For tests and for tools that stop themselves.
void request_stop();

// SIGHUP as a reload request: the handler writes to a self-pipe whose read
// end an event loop polls. install_reload_handler is idempotent and returns
// the fd to poll (-1 with errno set on failure); take_reload_request says
// whether SIGHUP arrived since the last call, and drains the pipe.
int install_reload_handler();
bool take_reload_request();

}  // namespace sigma
