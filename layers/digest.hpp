// OCI content digests: the grammar (image-spec descriptor.md) and streaming hashing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace rookery::layers {

enum class digest_algorithm { sha256, sha512 };

/// A validated `algorithm:hex` digest. Only sha256 (64 lowercase hex) and sha512
/// (128 lowercase hex) exist; anything else cannot be constructed. A value type.
class digest {
 public:
  /// Parses `text`; on failure returns nullopt and, if `why` is given, a reason a human can act on.
  static std::optional<digest> parse(std::string_view text, std::string* why = nullptr);
  /// The digest a stored file is named by: its hex alone, the algorithm told by the length
  /// (64: sha256, 128: sha512); nullopt for any other name.
  static std::optional<digest> from_file_name(std::string_view name);

  digest_algorithm algorithm() const noexcept { return algorithm_; }
  /// The encoded part, lowercase hex.
  const std::string& hex() const noexcept { return hex_; }
  /// "sha256" or "sha512".
  std::string_view algorithm_name() const noexcept;
  /// The full `algorithm:hex` form.
  std::string str() const;

  friend bool operator==(const digest&, const digest&) = default;

 private:
  digest(digest_algorithm algorithm, std::string hex)
      : algorithm_(algorithm), hex_(std::move(hex)) {}
  friend class hasher;

  digest_algorithm algorithm_;
  std::string hex_;
};

/// Incremental hash of a byte stream (OpenSSL EVP). Not thread-safe; movable, not copyable.
class hasher {
 public:
  explicit hasher(digest_algorithm algorithm = digest_algorithm::sha256);
  ~hasher();
  hasher(hasher&&) noexcept;
  hasher& operator=(hasher&&) noexcept;

  void update(const void* data, std::size_t size);
  void update(std::string_view bytes) { update(bytes.data(), bytes.size()); }
  /// Finishes the hash; the hasher is reset and may be reused.
  digest finish();

 private:
  struct state;
  std::unique_ptr<state> state_;
  digest_algorithm algorithm_;
};

/// The digest of `bytes` under `algorithm`.
digest digest_of(std::string_view bytes, digest_algorithm algorithm = digest_algorithm::sha256);

}  // namespace rookery::layers

template <>
struct std::hash<rookery::layers::digest> {
  std::size_t operator()(const rookery::layers::digest& d) const noexcept {
    return std::hash<std::string>{}(d.hex());
  }
};
