// rookery: the operator's command line for a fleet of rookery proxies and seeders.
#include <CLI/CLI.hpp>
#include <functional>
#include <iostream>
#include <memory>
#include <optional>
#include <stdexcept>

#include "cli/api_client.hpp"
#include "cli/credentials.hpp"
#include "cli/doctor.hpp"
#include "cli/export.hpp"
#include "cli/gc.hpp"
#include "cli/hosts.hpp"
#include "cli/import.hpp"
#include "cli/prewarm.hpp"
#include "cli/seed.hpp"
#include "cli/setup.hpp"
#include "cli/status.hpp"

namespace {

using namespace rookery;

struct flags {
  std::vector<std::string> proxies, seeders;
  std::string hosts_file, platform, ns, token_file;
  cli::login_flags login;
  std::optional<std::uint64_t> to_mib;
  std::string image, seeder, runtime, path;
  std::vector<std::string> registries;
  bool dry_run = false;
  int timeout = 1800;
  bool wait = false, json = false;
  cli::doctor_options doctor;
  bool check_flags = false;  ///< check the command line only: read no file, contact nobody
};

// What a subcommand does once its flags are parsed; `run` false: build its options only.
using command_fn = std::function<int(bool run)>;

// --proxy URL... and --hosts FILE, together (the file is read only when `run`).
std::vector<cli::host> proxy_hosts(const flags& f, bool run) {
  std::vector<cli::host> out;
  for (const auto& p : f.proxies) out.push_back(cli::parse_host(p));
  if (!f.hosts_file.empty() && !run) return out;
  if (!f.hosts_file.empty()) {
    auto listed = cli::read_hosts_file(f.hosts_file);
    out.insert(out.end(), listed.begin(), listed.end());
  }
  if (out.empty()) throw std::invalid_argument("name the proxies: --proxy URL or --hosts FILE");
  return out;
}

void add_prewarm(CLI::App& app, flags& f, command_fn& command) {
  auto* sub = app.add_subcommand("prewarm", "Bring an image's blobs into every listed proxy");
  sub->add_option("image", f.image, "repository[:tag] or repository@digest")->required();
  sub->add_option("--proxy", f.proxies, "A proxy's base URL (repeatable)");
  sub->add_option("--hosts", f.hosts_file, "A file of proxy URLs, one a line");
  sub->add_option("--platform", f.platform, "os/arch[/variant] (default: each proxy's own)");
  sub->add_option("--ns", f.ns, "The proxies' upstream name (default: their default upstream)");
  cli::add_login_flags(*sub, f.login);  // default: the proxies' own credentials
  sub->add_option("--timeout", f.timeout, "Give up after this many seconds")->capture_default_str();
  sub->add_flag("--json", f.json, "One JSON line per event, even on a terminal");
  sub->callback([&f, &command] {
    command = [&f](bool run) {
      // --check-flags checks the login flags but reads no password.
      const std::string authorization =
          run ? cli::registry_authorization(f.login, std::cin) : cli::check_login(f.login);
      cli::prewarm_options o{f.image, proxy_hosts(f, run), f.platform,
                             f.ns,    authorization,       std::chrono::seconds(f.timeout),
                             f.json};
      return run ? cli::run_prewarm(o) : 0;
    };
  });
}

void add_seed(CLI::App& app, flags& f, command_fn& command) {
  auto* sub = app.add_subcommand("seed", "Make the seeder seed an image");
  sub->add_option("image", f.image, "repository[:tag] or repository@digest")->required();
  sub->add_option("--seeder", f.seeder, "The seeder's base URL")->required();
  sub->add_flag("--wait", f.wait, "Return once every blob is seeding (tries again until then)");
  sub->add_option("--operator-token-file", f.token_file,
                  "The operator token (default: $ROOKERY_OPERATOR_TOKEN)");
  sub->add_option("--timeout", f.timeout, "Give up after this many seconds")->capture_default_str();
  sub->add_flag("--json", f.json, "The seeder's summary as JSON");
  sub->callback([&f, &command] {
    command = [&f](bool run) {
      cli::seed_options o{f.image,
                          cli::parse_host(f.seeder),
                          run ? cli::bearer_from(f.token_file, "ROOKERY_OPERATOR_TOKEN") : "",
                          f.wait,
                          std::chrono::seconds(f.timeout),
                          f.json};
      if (!run) return 0;
      if (o.authorization.empty())
        throw std::invalid_argument(
            "no operator token: --operator-token-file or $ROOKERY_OPERATOR_TOKEN");
      return cli::run_seed(o);
    };
  });
}

void add_status(CLI::App& app, flags& f, command_fn& command) {
  auto* sub = app.add_subcommand("status", "A table of proxies' and seeders' /v1/status");
  sub->add_option("--proxy", f.proxies, "A proxy's base URL (repeatable)");
  sub->add_option("--seeder", f.seeders, "A seeder's base URL (repeatable)");
  sub->add_option("--hosts", f.hosts_file, "A file of proxy or seeder URLs, one a line");
  sub->add_option("--operator-token-file", f.token_file,
                  "The operator token, for peers and uploads (default: $ROOKERY_OPERATOR_TOKEN)");
  sub->add_flag("--json", f.json, "One JSON line per host");
  sub->callback([&f, &command] {
    command = [&f](bool run) {
      cli::status_options o;
      for (const auto& s : f.seeders) o.hosts.push_back(cli::parse_host(s));
      if (!f.proxies.empty() || !f.hosts_file.empty() || o.hosts.empty()) {
        auto proxies = proxy_hosts(f, run);
        o.hosts.insert(o.hosts.begin(), proxies.begin(), proxies.end());
      }
      if (!run) return 0;
      o.authorization = cli::bearer_from(f.token_file, "ROOKERY_OPERATOR_TOKEN");
      o.json = f.json;
      return cli::run_status(o);
    };
  });
}

void add_gc(CLI::App& app, flags& f, command_fn& command) {
  auto* sub = app.add_subcommand(
      "gc", "Evict cached blobs down to each proxy's budget (blobs in use are passed over)");
  sub->add_option("--proxy", f.proxies, "A proxy's base URL (repeatable)");
  sub->add_option("--hosts", f.hosts_file, "A file of proxy URLs, one a line");
  sub->add_option("--to", f.to_mib, "Evict down to this many MiB instead of the budget");
  sub->add_option("--operator-token-file", f.token_file,
                  "The operator token (default: $ROOKERY_OPERATOR_TOKEN)");
  sub->add_flag("--json", f.json, "One JSON line per proxy");
  sub->callback([&f, &command] {
    command = [&f](bool run) {
      cli::gc_options o{proxy_hosts(f, run), f.to_mib,
                        run ? cli::bearer_from(f.token_file, "ROOKERY_OPERATOR_TOKEN") : "",
                        f.json};
      if (!run) return 0;
      if (o.authorization.empty())
        throw std::invalid_argument(
            "no operator token: --operator-token-file or $ROOKERY_OPERATOR_TOKEN");
      return cli::run_gc(o);
    };
  });
}

void add_setup(CLI::App& app, flags& f, command_fn& command) {
  auto* sub = app.add_subcommand("setup", "Point a container runtime at this host's proxy");
  sub->add_option("runtime", f.runtime, "containerd, docker or podman")
      ->required()
      ->check(CLI::IsMember({"containerd", "docker", "podman"}));
  sub->add_option("--proxy", f.proxies, "The proxy's URL (default: http://127.0.0.1:5050)");
  sub->add_option("--registry", f.registries,
                  "A registry to mirror, NAME or NAME=URL (repeatable; containerd also gets "
                  "the _default catch-all)");
  sub->add_option("--path", f.path,
                  "Where to write (default: /etc/containerd/certs.d, /etc/docker/daemon.json, "
                  "/etc/containers/registries.conf.d/rookery.conf)");
  sub->add_flag("--dry-run", f.dry_run, "Print the files instead of writing them");
  sub->callback([&f, &command] {
    command = [&f](bool run) {
      cli::setup_options o;
      o.runtime = f.runtime;
      if (f.proxies.size() > 1) throw std::invalid_argument("setup takes one --proxy");
      o.proxy = cli::parse_host(f.proxies.empty() ? "http://127.0.0.1:5050" : f.proxies[0]);
      for (const auto& r : f.registries) o.registries.push_back(cli::parse_mirrored_registry(r));
      o.path = f.path;
      o.dry_run = f.dry_run;
      return run ? cli::run_setup(o) : 0;
    };
  });
}

void add_import(CLI::App& app, command_fn& command) {
  struct import_flags {
    std::vector<std::string> files;
    std::string registry, image, seeder, token_file;
    cli::login_flags login;
    int timeout = 1800;
  };
  auto f = std::make_shared<import_flags>();
  auto* sub = app.add_subcommand(
      "import", "Push docker-archive or OCI-layout tarballs into the registry, then seed them");
  sub->add_option("files", f->files, "FILE.tar[.gz]...")->required()->check(CLI::ExistingFile);
  sub->add_option("--registry", f->registry, "The central registry's base URL")->required();
  cli::add_login_flags(*sub, f->login);
  sub->add_option("--image", f->image, "Push as REPOSITORY[:TAG] (default: the tarball's names)");
  sub->add_option("--seeder", f->seeder, "Have this seeder seed each image (rookery seed --wait)");
  sub->add_option("--operator-token-file", f->token_file,
                  "The seeder's operator token (default: $ROOKERY_OPERATOR_TOKEN)");
  sub->add_option("--timeout", f->timeout, "Give up seeding after this many seconds")
      ->capture_default_str();
  sub->callback([f, &command] {
    command = [f](bool run) {
      cli::import_options o;
      o.files = f->files;
      o.registry = cli::parse_host(f->registry);
      // --check-flags checks the login flags but reads no password.
      std::tie(o.username, o.password) =
          run ? cli::registry_login(f->login, std::cin) : std::pair<std::string, std::string>{};
      if (!run) cli::check_login(f->login);
      if (!f->image.empty() && !(o.name = cli::parse_image_name(f->image)))
        throw std::invalid_argument("--image must be REPOSITORY[:TAG]");
      if (!f->seeder.empty()) {
        o.seeder = cli::parse_host(f->seeder);
        if (!run) return 0;  // --check-flags: the token file is not read
        o.seeder_authorization = cli::bearer_from(f->token_file, "ROOKERY_OPERATOR_TOKEN");
        if (o.seeder_authorization.empty())
          throw std::invalid_argument(
              "--seeder needs the operator token: --operator-token-file or "
              "$ROOKERY_OPERATOR_TOKEN");
      }
      o.timeout = std::chrono::seconds(f->timeout);
      return run ? cli::run_import(o) : 0;
    };
  });
}

void add_export(CLI::App& app, command_fn& command) {
  struct export_flags {
    std::string image, file, proxy, registry, format = "docker", platform;
    cli::login_flags login;
  };
  auto f = std::make_shared<export_flags>();
  auto* sub = app.add_subcommand("export", "Write an image to a docker-archive or OCI tarball");
  sub->add_option("image", f->image, "repository[:tag] or repository@digest")->required();
  sub->add_option("file", f->file, "FILE.tar (gzip when it ends in .gz or .tgz)")->required();
  auto* proxy = sub->add_option("--proxy", f->proxy, "Read through this rookery proxy");
  auto* registry = sub->add_option("--registry", f->registry, "Read from this registry");
  proxy->excludes(registry);
  cli::add_login_flags(*sub, f->login);
  sub->add_option("--format", f->format, "docker (docker-archive) or oci (OCI image layout)")
      ->check(CLI::IsMember({"docker", "oci"}))
      ->capture_default_str();
  sub->add_option("--platform", f->platform,
                  "os/arch[/variant] of an index (default: this host's)");
  sub->callback([f, &command] {
    command = [f](bool run) {
      cli::export_options o;
      o.image = f->image;
      o.file = f->file;
      if (f->proxy.empty() == f->registry.empty())
        throw std::invalid_argument("name where to read: --proxy URL or --registry URL");
      o.source = cli::parse_host(f->proxy.empty() ? f->registry : f->proxy);
      // --check-flags checks the login flags but reads no password.
      std::tie(o.username, o.password) =
          run ? cli::registry_login(f->login, std::cin) : std::pair<std::string, std::string>{};
      if (!run) cli::check_login(f->login);
      o.format = f->format == "oci" ? cli::archive_format::oci : cli::archive_format::docker;
      if (!f->platform.empty() && !(o.platform = layers::parse_platform(f->platform)))
        throw std::invalid_argument("--platform must be os/arch[/variant]");
      return run ? cli::run_export(o) : 0;
    };
  });
}

void add_doctor(CLI::App& app, flags& f, command_fn& command) {
  auto* sub = app.add_subcommand("doctor", "Check this host: runtime config, proxy, seeder, P2P");
  auto& d = f.doctor;
  sub->add_option("runtime", d.runtimes, "containerd, docker and/or podman: check their config")
      ->check(CLI::IsMember({"containerd", "docker", "podman"}));
  sub->add_option("--proxy", f.proxies, "The proxy's URL (default: http://127.0.0.1:5050)");
  sub->add_option("--registry", d.registries,
                  "A registry the runtimes should mirror (repeatable; containerd default: "
                  "_default)");
  sub->add_option("--containerd-config", d.containerd.config, "containerd's config.toml")
      ->capture_default_str();
  sub->add_option("--containerd-hosts", d.containerd.hosts_dir,
                  "containerd's hosts directory (default: config_path from config.toml)");
  sub->add_option("--docker-config", d.docker_config, "Docker's daemon.json")
      ->capture_default_str();
  sub->add_option("--podman-config", d.podman_config, "podman's registries.conf (or drop-in)")
      ->capture_default_str();
  sub->add_option("--seeder", f.seeder, "The seeder's URL (default: the one the proxy names)");
  sub->add_option("--probe", d.probe, "Pull this image through the proxy: bytes from peers?");
  sub->add_option("--ns", d.ns, "The proxy's upstream for the probe (containerd's ns)");
  cli::add_login_flags(*sub, f.login);  // for the probe's registry
  auto* timeout = sub->add_option("--timeout", f.timeout, "Give up after this many seconds (300)");
  sub->add_flag("--json", d.json, "The report as one JSON object");
  sub->callback([&f, &command, timeout] {
    command = [&f, given = timeout->count() > 0](bool run) {
      auto& d = f.doctor;
      if (f.proxies.size() > 1) throw std::invalid_argument("doctor takes one --proxy");
      d.proxy = cli::parse_host(f.proxies.empty() ? "http://127.0.0.1:5050" : f.proxies[0]);
      if (!f.seeder.empty()) d.seeder = cli::parse_host(f.seeder);
      // --check-flags checks the login flags but reads no password.
      d.authorization =
          run ? cli::registry_authorization(f.login, std::cin) : cli::check_login(f.login);
      if (given) d.timeout = std::chrono::seconds(f.timeout);
      if (!run) return 0;
      if (std::find(d.runtimes.begin(), d.runtimes.end(), "containerd") != d.runtimes.end())
        d.containerd.version = cli::containerd_version();
      return cli::run_doctor(d);
    };
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "rookery: pre-warm, seed, inspect, collect, import and export for a fleet of rookery "
      "proxies and seeders",
      "rookery");
  app.require_subcommand(1);
  flags f;
  app.add_flag("--check-flags", f.check_flags,
               "Parse and check the command line, then exit 0 without reading any file or "
               "contacting anything");
  command_fn command;
  add_prewarm(app, f, command);
  add_seed(app, f, command);
  add_status(app, f, command);
  add_setup(app, f, command);
  add_gc(app, f, command);
  add_import(app, command);
  add_export(app, command);
  add_doctor(app, f, command);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    const int status = command(!f.check_flags);
    if (f.check_flags) std::cout << "rookery: flags accepted\n";
    return status;
  } catch (const std::exception& e) {
    std::cerr << "rookery: " << e.what() << "\n";
    return 2;
  }
}
