#include "layers/digest.hpp"

#include <openssl/evp.h>

#include <stdexcept>

namespace rookery::layers {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool fail(std::string* why, std::string reason) {
  if (why) *why = std::move(reason);
  return false;
}

}  // namespace

std::optional<digest> digest::from_file_name(std::string_view name) {
  const char* algorithm = name.size() == 64 ? "sha256:" : name.size() == 128 ? "sha512:" : nullptr;
  if (!algorithm) return std::nullopt;
  return parse(std::string(algorithm) + std::string(name));
}

std::optional<digest> digest::parse(std::string_view text, std::string* why) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
    fail(why, "a digest is 'algorithm:hex'");
    return std::nullopt;
  }
  const auto algorithm = text.substr(0, colon);
  const auto encoded = text.substr(colon + 1);
  digest_algorithm which;
  std::size_t expected;
  if (algorithm == "sha256") {
    which = digest_algorithm::sha256;
    expected = 64;
  } else if (algorithm == "sha512") {
    which = digest_algorithm::sha512;
    expected = 128;
  } else {
    fail(why, "unsupported digest algorithm '" + std::string(algorithm.substr(0, 32)) +
                  "' (sha256 or sha512)");
    return std::nullopt;
  }
  if (encoded.size() != expected || !is_lower_hex(encoded)) {
    fail(why, std::string(algorithm) + " needs exactly " + std::to_string(expected) +
                  " lowercase hex characters");
    return std::nullopt;
  }
  return digest(which, std::string(encoded));
}

std::string_view digest::algorithm_name() const noexcept {
  return algorithm_ == digest_algorithm::sha256 ? "sha256" : "sha512";
}

std::string digest::str() const {
  std::string out(algorithm_name());
  out += ':';
  out += hex_;
  return out;
}

struct hasher::state {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~state() { EVP_MD_CTX_free(ctx); }
};

namespace {
const EVP_MD* evp_for(digest_algorithm algorithm) {
  return algorithm == digest_algorithm::sha256 ? EVP_sha256() : EVP_sha512();
}
}  // namespace

hasher::hasher(digest_algorithm algorithm)
    : state_(std::make_unique<state>()), algorithm_(algorithm) {
  if (!state_->ctx || EVP_DigestInit_ex(state_->ctx, evp_for(algorithm), nullptr) != 1) {
    throw std::runtime_error("OpenSSL digest initialisation failed");
  }
}

hasher::~hasher() = default;
hasher::hasher(hasher&&) noexcept = default;
hasher& hasher::operator=(hasher&&) noexcept = default;

void hasher::update(const void* data, std::size_t size) {
  EVP_DigestUpdate(state_->ctx, data, size);
}

digest hasher::finish() {
  unsigned char raw[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(state_->ctx, raw, &length);
  EVP_DigestInit_ex(state_->ctx, evp_for(algorithm_), nullptr);
  static constexpr char hex_digits[] = "0123456789abcdef";
  std::string hex(length * 2, '0');
  for (unsigned int i = 0; i < length; ++i) {
    hex[2 * i] = hex_digits[raw[i] >> 4];
    hex[2 * i + 1] = hex_digits[raw[i] & 0xf];
  }
  return digest(algorithm_, std::move(hex));
}

digest digest_of(std::string_view bytes, digest_algorithm algorithm) {
  hasher h(algorithm);
  h.update(bytes);
  return h.finish();
}

}  // namespace rookery::layers
