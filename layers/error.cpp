#include "layers/error.hpp"

namespace rookery {
namespace {

class category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "rookery"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::ok:
        return "success";
      case errc::blob_unknown:
        return "blob unknown to registry";
      case errc::digest_invalid:
        return "provided digest did not match content or is malformed";
      case errc::manifest_unknown:
        return "manifest unknown";
      case errc::manifest_invalid:
        return "manifest invalid";
      case errc::name_invalid:
        return "invalid repository name";
      case errc::name_unknown:
        return "repository namespace not served by this mirror";
      case errc::size_invalid:
        return "content size does not match";
      case errc::range_invalid:
        return "requested range not satisfiable";
      case errc::unauthorized:
        return "authentication required";
      case errc::denied:
        return "requested access to the resource is denied";
      case errc::unsupported:
        return "the operation is unsupported";
      case errc::too_many_requests:
        return "too many requests";
      case errc::upstream_unavailable:
        return "upstream registry unavailable";
      case errc::upstream_bad_response:
        return "upstream registry sent an unusable response";
      case errc::store_failure:
        return "local blob store failure";
      case errc::not_found:
        return "not found";
      case errc::too_large:
        return "request body too large";
      case errc::endpoint_unsupported:
        return "this registry does not offer that endpoint";
    }
    return "unknown rookery error";
  }
};

}  // namespace

const std::error_category& rookery_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace rookery
