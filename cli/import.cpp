#include "cli/import.hpp"

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <iostream>
#include <map>

#include "cli/progress.hpp"
#include "cli/registry_client.hpp"
#include "cli/seed.hpp"
#include "cli/tarball.hpp"

namespace rookery::cli {
namespace asio = boost::asio;
namespace {

/// A push that failed part-way; what() says which blob or manifest.
class push_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct checked_tarball {
  std::string file;
  std::vector<image_plan> plans;
};

// A blob the registry lacks, and the repositories that need it.
struct pending_blob {
  layers::digest digest;
  std::uint64_t size = 0;
  std::vector<std::string> repositories;
};

std::uint64_t plan_bytes(const std::vector<image_plan>& plans) {
  std::uint64_t total = 0;
  for (const auto& p : plans)
    for (const auto& b : p.blobs) total += b.size;
  return total;
}

// The first pass over every tarball: nothing is pushed unless all of them check out.
std::vector<checked_tarball> check_all(const import_options& opts) {
  std::vector<checked_tarball> out;
  for (const auto& file : opts.files) {
    checked_tarball t{file, plan_import(scan_tarball(file), opts.name)};
    std::cout << file << ": " << t.plans.size() << " image(s), " << human_bytes(plan_bytes(t.plans))
              << ", every blob matches its digest\n";
    out.push_back(std::move(t));
  }
  return out;
}

// Which blobs of the plans the registry does not hold yet, by their path in the tarball.
asio::awaitable<std::map<std::string, pending_blob>> missing_blobs(
    registry_client& client, const std::vector<image_plan>& plans) {
  std::map<std::string, pending_blob> pending;
  for (const auto& plan : plans) {
    for (const auto& blob : plan.blobs) {
      std::string why;
      const bool present = co_await client.has_blob(plan.repository, blob.digest, why);
      if (!why.empty()) throw push_error(blob.digest.str() + ": " + why);
      if (present) continue;
      auto& p =
          pending.try_emplace(blob.path, pending_blob{blob.digest, blob.size, {}}).first->second;
      if (std::find(p.repositories.begin(), p.repositories.end(), plan.repository) ==
          p.repositories.end())
        p.repositories.push_back(plan.repository);
    }
  }
  co_return pending;
}

// One blob from the tarball's current entry: uploaded to the first repository that needs it,
// mounted into the others.
asio::awaitable<void> push_blob(registry_client& client, tar_reader& reader,
                                const pending_blob& blob) {
  const byte_source source = [&reader](char* data, std::size_t size) {
    return reader.read(data, size);
  };
  const std::string& first = blob.repositories.front();
  std::string why = co_await client.upload_blob(first, blob.digest, blob.size, source);
  if (!why.empty()) throw push_error("upload of " + blob.digest.str() + " failed: " + why);
  for (std::size_t i = 1; i < blob.repositories.size(); ++i) {
    why = co_await client.mount_blob(blob.repositories[i], blob.digest, first);
    if (!why.empty()) throw push_error(blob.repositories[i] + ": " + why);
  }
  std::cout << "  pushed " << blob.digest.str() << " (" << human_bytes(blob.size) << ")\n";
}

// The second pass: the blobs the registry lacks, streamed from the tarball.
asio::awaitable<void> push_blobs(registry_client& client, const checked_tarball& t) {
  auto pending = co_await missing_blobs(client, t.plans);
  if (pending.empty()) co_return;
  tar_reader reader(t.file);
  while (auto e = reader.next()) {
    auto it = pending.find(normalise_tar_path(e->path));
    if (!e->regular || it == pending.end()) continue;
    co_await push_blob(client, reader, it->second);
    pending.erase(it);
  }
  if (!pending.empty())
    throw push_error(t.file + ": " + pending.begin()->second.digest.str() +
                     " was gone when the tarball was read again");
}

asio::awaitable<void> push_manifests(registry_client& client, const image_plan& plan) {
  for (std::size_t i = 0; i + 1 < plan.manifests.size(); ++i) {
    const auto& m = plan.manifests[i];
    const std::string reference = m.digest.str();  // named: no temporary in a co_await (GCC 12)
    const std::string why = co_await client.put_manifest(plan.repository, reference, m);
    if (!why.empty()) throw push_error("manifest " + reference + ": " + why);
  }
  std::vector<std::string> references = plan.tags;
  if (references.empty()) references.push_back(plan.top().digest.str());
  for (const auto& ref : references) {
    const std::string why = co_await client.put_manifest(plan.repository, ref, plan.top());
    if (!why.empty()) throw push_error(plan.repository + ":" + ref + ": " + why);
  }
  std::cout << "pushed " << pushed_reference(plan) << " (" << plan.top().digest.str() << ")\n";
}

asio::awaitable<void> push_all(registry_client& client, const std::vector<checked_tarball>& all) {
  for (const auto& t : all) {
    co_await push_blobs(client, t);
    for (const auto& plan : t.plans) co_await push_manifests(client, plan);
  }
}

// Runs push_all; rethrows what it threw.
void push(const import_options& opts, const std::vector<checked_tarball>& all) {
  asio::io_context io(1);
  registry_client client(io, opts.registry, opts.username, opts.password);
  std::exception_ptr failure;
  asio::co_spawn(io, push_all(client, all), [&failure](std::exception_ptr e) { failure = e; });
  io.run();
  if (failure) std::rethrow_exception(failure);
}

int seed_all(const import_options& opts, const std::vector<checked_tarball>& all) {
  int status = 0;
  for (const auto& t : all) {
    for (const auto& plan : t.plans) {
      seed_options s{pushed_reference(plan), *opts.seeder, opts.seeder_authorization, true,
                     opts.timeout,           false};
      status = std::max(status, run_seed(s));
    }
  }
  return status;
}

}  // namespace

std::string pushed_reference(const image_plan& plan) {
  return plan.repository +
         (plan.tags.empty() ? "@" + plan.top().digest.str() : ":" + plan.tags.front());
}

int run_import(const import_options& opts) {
  std::vector<checked_tarball> all;
  try {
    all = check_all(opts);
  } catch (const std::runtime_error& e) {  // import_error, tarball_error
    std::cerr << "rookery: import refused, nothing was pushed: " << e.what() << "\n";
    return 1;
  }
  try {
    push(opts, all);
  } catch (const std::runtime_error& e) {
    std::cerr << "rookery: import failed: " << e.what() << "\n";
    return 1;
  }
  return opts.seeder ? seed_all(opts, all) : 0;
}

}  // namespace rookery::cli
