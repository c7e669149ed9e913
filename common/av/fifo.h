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

// Waits until a writer has put data into the FIFO at path, or a stop is
// requested. Returns a read descriptor (a guard) that the caller keeps open
// until it has opened the FIFO again for real, so the writer never sees a
// moment without a reader (EPIPE); -1 when a stop was requested.
Result<int> wait_for_fifo_data(const std::string& path);

}  // namespace sigma::av
