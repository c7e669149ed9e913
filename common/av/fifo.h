#pragma once
// Waiting for a FIFO's next writer without a blocking open(), so that a
// stop request (SIGTERM) is noticed while no writer is there. A blocking
// open() races with the signal: a stop that lands just before it would hang
// the process until some writer turns up.
#include <string>

#include "base/status.h"

namespace sigma::av {

// True for a path that names a FIFO (not "-", not a URL).
bool is_fifo(const std::string& path);

inline constexpr int kFifoStopped = -1;
inline constexpr int kFifoRemoved = -2;

// Waits until a writer has put data into the FIFO at path, a stop is
// requested or the FIFO is taken away. Returns a read descriptor (a guard)
// that the caller keeps open until it has opened the FIFO again for real,
// so the writer never sees a moment without a reader (EPIPE);
// kFifoStopped when a stop was requested; kFifoRemoved when the path no
// longer names the FIFO waited on (unlinked or replaced, as the supervisor
// does when a channel is deleted): no writer can come back to it.
Result<int> wait_for_fifo_data(const std::string& path);

}  // namespace sigma::av
