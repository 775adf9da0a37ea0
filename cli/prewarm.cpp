#include "cli/prewarm.hpp"

#include <sys/ioctl.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/api_client.hpp"
#include "cli/progress.hpp"

namespace rookery::cli {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using nlohmann::json;
namespace {

constexpr auto redraw_every = std::chrono::milliseconds(200);

int terminal_width() {
  winsize size{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 20) return size.ws_col;
  const char* columns = std::getenv("COLUMNS");  // a pty that was given no size
  const int from_env = columns ? std::atoi(columns) : 0;
  return from_env > 20 ? from_env : 120;
}

http::client_options client_options(std::chrono::seconds timeout) {
  http::client_options out;
  out.connect_timeout = std::chrono::milliseconds(3000);
  // The proxy answers a POST after reading the manifest upstream; progress may pause while a
  // large blob starts: only the overall --timeout bounds that.
  out.response_timeout = std::chrono::milliseconds(60000);
  out.idle_timeout = timeout;
  return out;
}

/// One `rookery prewarm` run: every host's coroutine, the drawing and the deadline.
class prewarm_run {
 public:
  explicit prewarm_run(const prewarm_options& opts)
      : opts_(opts),
        client_(io_, client_options(opts.timeout)),
        tty_(!opts.json && ::isatty(STDOUT_FILENO)),
        ticker_(io_),
        deadline_(io_) {
    for (const auto& h : opts_.proxies) {
      progress_.push_back(host_progress{});
      progress_.back().host = h.name;
      name_width_ = std::max(name_width_, h.name.size());
    }
  }

  int run() {
    for (std::size_t i = 0; i < progress_.size(); ++i)
      asio::co_spawn(io_, run_host(i), asio::detached);
    deadline_.expires_after(opts_.timeout);
    deadline_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      const std::string why = "timed out after " + std::to_string(opts_.timeout.count()) + "s";
      for (std::size_t i = 0; i < progress_.size(); ++i) fail(i, why);
      io_.stop();
    });
    if (tty_) tick();
    io_.run();
    return report();
  }

 private:
  asio::awaitable<void> run_host(std::size_t i) {
    // Arguments are named before each co_await (GCC 12 and temporaries in co_await expressions).
    const host& to = opts_.proxies[i];
    std::string target = "/v1/prewarm", body = prewarm_body(opts_);
    const reply answer =
        co_await client_.call(to, bhttp::verb::post, target, body, opts_.authorization);
    const std::string id = accepted(i, answer);
    if (id.empty()) co_return finished_one();
    target = "/v1/prewarm/" + id;
    const std::function<void(std::string_view)> each_line = [this, i](std::string_view line) {
      on_line(i, line);
    };
    const std::string error =
        co_await client_.follow_lines(to, target, opts_.authorization, each_line);
    if (!progress_[i].finished())
      fail(i, error.empty() ? "the progress stream ended before the prewarm did" : error);
    finished_one();
  }

  // The prewarm id from the proxy's answer to the POST; empty (host failed) when there is none.
  std::string accepted(std::size_t i, const reply& answer) {
    std::string why;
    json doc;
    if (!answer.error.empty()) {
      why = answer.error;
    } else if (!answer.ok()) {
      why = describe_failure(answer.status, answer.body);
    } else {
      doc = json::parse(answer.body, nullptr, false);
      if (!doc.is_object() || !doc.contains("id") || !doc["id"].is_string())
        why = "the proxy's answer names no prewarm id";
    }
    if (!why.empty()) {
      fail(i, std::move(why));
      return {};
    }
    std::string id = doc["id"];
    doc["event"] = "accepted";
    print_event(i, std::move(doc));
    return id;
  }

  void on_line(std::size_t i, std::string_view line) {
    auto event = json::parse(line, nullptr, false);
    if (!event.is_object() || !event.contains("event")) {
      fail(i, "malformed progress line from the proxy");
      return;
    }
    progress_[i].apply(event);
    print_event(i, std::move(event));
  }

  void fail(std::size_t i, std::string why) {
    if (progress_[i].finished()) return;
    progress_[i].fail(why);
    print_event(i, {{"event", "failed"}, {"error", why}});
  }

  void print_event(std::size_t i, json event) {
    if (tty_) return;
    json line = {{"host", progress_[i].host}};
    line.update(event);
    std::cout << line.dump() << "\n" << std::flush;
  }

  void finished_one() {
    if (++finished_ < progress_.size()) return;
    ticker_.cancel();
    deadline_.cancel();
  }

  void tick() {
    draw();
    ticker_.expires_after(redraw_every);
    ticker_.async_wait([this](boost::system::error_code ec) {
      if (!ec) tick();
    });
  }

  void draw() {
    const std::size_t width = static_cast<std::size_t>(terminal_width() - 1);
    std::string screen;
    if (drawn_) screen += "\x1b[" + std::to_string(progress_.size() + 1) + "A";
    auto put = [&](std::string line) {
      if (line.size() > width) line.resize(width);
      screen += "\r\x1b[2K" + line + "\n";
    };
    for (const auto& p : progress_) put(host_line(p, name_width_));
    put(total_line(progress_, elapsed()));
    std::fputs(screen.c_str(), stdout);
    std::fflush(stdout);
    drawn_ = true;
  }

  double elapsed() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  }

  int report() {
    if (tty_) {
      draw();
    } else {
      std::cout << total_json(progress_, elapsed()).dump() << "\n" << std::flush;
    }
    bool failed = false;
    for (const auto& p : progress_) {
      if (p.state == host_progress::phase::done) continue;
      std::cerr << "rookery: prewarm failed on " << p.host << ": " << p.error << "\n";
      failed = true;
    }
    return failed ? 1 : 0;
  }

  const prewarm_options& opts_;
  asio::io_context io_{1};
  api_client client_;
  bool tty_;
  asio::steady_timer ticker_, deadline_;
  std::vector<host_progress> progress_;
  std::size_t name_width_ = 0;
  std::size_t finished_ = 0;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace

std::string prewarm_body(const prewarm_options& opts) {
  json body = {{"image", opts.image}};
  if (!opts.platform.empty()) body["platform"] = opts.platform;
  if (!opts.ns.empty()) body["ns"] = opts.ns;
  return body.dump();
}

int run_prewarm(const prewarm_options& opts) {
  prewarm_run run(opts);
  return run.run();
}

}  // namespace rookery::cli
