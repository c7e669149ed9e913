#include "origin/responses.h"

namespace sigma::origin {

namespace bhttp = boost::beast::http;

http::Response base_response(bhttp::status status) {
  http::Response res(status, 11);
  res.set(bhttp::field::server, "sigma-origin");
  res.set(bhttp::field::access_control_allow_origin, "*");
  res.set(bhttp::field::access_control_expose_headers, "Content-Length, Content-Range, Age, Date");
  return res;
}

http::Response text_response(bhttp::status status, std::string text, bool head) {
  http::Response res = base_response(status);
  res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
  res.set(bhttp::field::cache_control, kNoCache);
  http::set_text(res, std::move(text) + "\n", head);
  return res;
}

}  // namespace sigma::origin
