#include "cli/api_client.hpp"

#include <cstdlib>
#include <fstream>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "layers/error.hpp"

namespace rookery::cli {
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
namespace {

constexpr std::size_t max_answer_bytes = 16 * 1024 * 1024;
constexpr std::size_t max_line_bytes = 1024 * 1024;

bhttp::fields request_headers(const std::string& authorization, bool json) {
  bhttp::fields headers;
  if (!authorization.empty()) headers.set(bhttp::field::authorization, authorization);
  if (json) headers.set(bhttp::field::content_type, "application/json");
  headers.set(bhttp::field::accept, "application/json, application/x-ndjson");
  return headers;
}

// For a human: the client's error codes speak of "upstream", which here is the host asked.
std::string no_answer(const host& to, std::error_code ec) {
  const char* why = ec == errc::upstream_unavailable    ? "unreachable or timed out"
                    : ec == errc::upstream_bad_response ? "not a usable HTTP answer"
                                                        : nullptr;
  return "no answer from " + to.name + " (" + (why ? std::string(why) : ec.message()) + ")";
}

}  // namespace

api_client::api_client(asio::io_context& io, http::client_options opts)
    : io_(io), tls_(http::make_client_tls_context()), opts_(opts) {}

asio::awaitable<reply> api_client::call(const host& to, bhttp::verb method, std::string target,
                                        std::string json_body, std::string authorization) {
  reply out;
  http::url where = to.base;
  where.target = std::move(target);
  const bhttp::fields headers = request_headers(authorization, !json_body.empty());
  std::error_code ec;
  auto res = co_await http::send_request(io_.get_executor(), tls_, method, where, headers,
                                         std::move(json_body), opts_, ec);
  if (!res) {
    out.error = no_answer(to, ec);
    co_return out;
  }
  out.status = res->status();
  if (co_await res->read_body(out.body, max_answer_bytes))
    out.error = "incomplete answer from " + to.name;
  co_return out;
}

asio::awaitable<std::string> api_client::follow_lines(
    const host& to, std::string target, std::string authorization,
    const std::function<void(std::string_view)>& on_line) {
  http::url where = to.base;
  where.target = std::move(target);
  const bhttp::fields headers = request_headers(authorization, false);
  std::error_code ec;
  auto res = co_await http::send_request(io_.get_executor(), tls_, bhttp::verb::get, where, headers,
                                         opts_, ec);
  if (!res) co_return no_answer(to, ec);
  if (res->status() != 200) {
    std::string body;
    co_await res->read_body(body, 64 * 1024);
    co_return describe_failure(res->status(), body);
  }
  std::string buffer;
  char chunk[16 * 1024];
  while (!res->done()) {
    const std::size_t n = co_await res->read_some(chunk, sizeof chunk, ec);
    if (ec) co_return "progress stream from " + to.name + " broke off (" + ec.message() + ")";
    buffer.append(chunk, n);
    take_lines(buffer, on_line);
    if (buffer.size() > max_line_bytes) co_return "a progress line over 1 MiB from " + to.name;
  }
  if (!buffer.empty()) on_line(buffer);
  co_return std::string();
}

std::string describe_failure(unsigned status, std::string_view body) {
  std::string out = "HTTP " + std::to_string(status);
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() ||
      doc["errors"].empty() || !doc["errors"][0].is_object())
    return out;
  const auto& first = doc["errors"][0];
  if (first.contains("code") && first["code"].is_string())
    out += " " + first["code"].get<std::string>();
  if (first.contains("message") && first["message"].is_string())
    out += ": " + first["message"].get<std::string>();
  if (first.contains("detail") && first["detail"].is_string())
    out += " (" + first["detail"].get<std::string>() + ")";
  return out;
}

void take_lines(std::string& buffer, const std::function<void(std::string_view)>& on_line) {
  std::size_t start = 0;
  for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n', start)) {
    std::string_view line(buffer.data() + start, nl - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (!line.empty()) on_line(line);
    start = nl + 1;
  }
  buffer.erase(0, start);
}

std::string bearer_from(const std::string& file, const char* env) {
  std::string token;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in || !std::getline(in, token)) throw std::invalid_argument("cannot read " + file);
  } else if (const char* value = std::getenv(env)) {
    token = value;
  }
  while (!token.empty() && (token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token.empty() ? std::string() : "Bearer " + token;
}

}  // namespace rookery::cli
