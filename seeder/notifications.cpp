#include "seeder/notifications.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "layers/digest.hpp"
#include "layers/manifest.hpp"
#include "layers/reference.hpp"

namespace rookery::seeder {

std::optional<std::vector<image_ref>> parse_notifications(std::string_view body) {
  auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("events") ||
      !doc["events"].is_array())
    return std::nullopt;
  std::vector<image_ref> pushed;
  for (const auto& event : doc["events"]) {
    if (!event.is_object() || !event.contains("action") || event["action"] != "push") continue;
    const auto target = event.value("target", nlohmann::json::object());
    if (!target.is_object()) continue;
    const auto text = [&](const char* key) {
      return target.contains(key) && target[key].is_string() ? target[key].get<std::string>()
                                                             : std::string();
    };
    const std::string repository = text("repository");
    auto d = layers::digest::parse(text("digest"));
    if (!layers::is_manifest_media_type(text("mediaType")) || !d ||
        !layers::valid_repository_name(repository))
      continue;
    pushed.push_back({repository, d->str()});
  }
  return pushed;
}

image_queue::outcome image_queue::push(image_ref image) {
  std::string k = key(image);
  if (pending_.contains(k)) return outcome::coalesced;
  if (waiting_.size() >= waiting_max_) return outcome::full;
  pending_.insert(std::move(k));
  waiting_.push_back(std::move(image));
  return outcome::queued;
}

std::optional<image_ref> image_queue::start_next() {
  if (running_ >= running_max_ || waiting_.empty()) return std::nullopt;
  image_ref next = std::move(waiting_.front());
  waiting_.pop_front();
  ++running_;
  peak_ = std::max(peak_, running_);
  return next;
}

void image_queue::finished(const image_ref& image) {
  if (pending_.erase(key(image)) && running_ > 0) --running_;
}

}  // namespace rookery::seeder
