#pragma once
// The OpenAPI 3 document of the API (docs/api/openapi.json), embedded at
// build time and served at /v1/openapi.json.
#include <string>

namespace sigma::api {
const std::string& openapi_document();
}
