#pragma once
// sigma-package's work: MPEG-TS in, CMAF HLS out (see sigma-package(1)).
#include "base/cli.h"
#include "base/status.h"
#include "package/modes.h"
#include "package/package_params.h"

namespace sigma::package {

// Fills the mode defaults and checks the parameters (usage errors).
Status resolve_params(PackageParams& p);

Status run_package(PackageParams p, CommonOptions& common);

}  // namespace sigma::package
