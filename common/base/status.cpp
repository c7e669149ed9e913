#include "base/status.h"

#include <cstring>

namespace sigma {

Status errno_error(const std::string& what, int err) {
  return Status(ExitCode::kSystem, what + ": " + std::strerror(err));
}

}  // namespace sigma
