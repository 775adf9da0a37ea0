// The one scratch-directory fixture of the unit tests: a fresh directory under the system's
// temporary directory, made by mkdtemp (unique even across parallel ctest processes), removed
// with everything in it when the fixture goes.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace rookery::test {

/// A directory that exists for the fixture's lifetime. Not copyable; one test case owns it.
struct temp_dir {
  /// Creates <tmp>/rookery-<prefix>-XXXXXX; throws std::runtime_error when it cannot.
  explicit temp_dir(const std::string& prefix = "test") : path(make(prefix)) {}
  ~temp_dir() {
    std::error_code ignored;  // a destructor must not throw; a leftover is harmless
    std::filesystem::remove_all(path, ignored);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path path;

 private:
  static std::filesystem::path make(const std::string& prefix) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / ("rookery-" + prefix + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    return pattern;
  }
};

}  // namespace rookery::test
