#pragma once
// SIGHUP as a reload request for an event loop: the handler writes to a
// self-pipe whose read end the loop polls. Installed once per process (a
// signal handler is process-wide); belongs in base/ beside signals.h.
namespace sigma::ingest {

// Installs the handler (idempotent); returns the fd to poll, or -1 with
// errno set.
int install_reload_handler();
// True when SIGHUP arrived since the last call; drains the pipe.
bool take_reload_request();

}  // namespace sigma::ingest
