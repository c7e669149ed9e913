#pragma once
// Stop requests: SIGINT and SIGTERM set a flag and make stop_fd() readable,
// so event loops can poll() it beside their sockets. SIGPIPE is ignored:
// a reader that goes away is an EPIPE to handle, not a death.
namespace sigma {

void install_stop_handlers();
bool stop_requested();
// Readable once a stop was requested; never drained. -1 before install.
int stop_fd();
// For tests and for tools that stop themselves.
void request_stop();

}  // namespace sigma
