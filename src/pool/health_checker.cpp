#include "health_checker.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <unordered_map>

#include "../proxy/http_client.hpp"
#include "olla/pool/health_policy.hpp"
#include "olla/pool/provider.hpp"

namespace olla::pool {

using namespace net;

void HealthChecker::start(asio::io_context& ioc) {
  ioc_ = &ioc;
  for (std::size_t i = 0; i < pool_.size(); ++i) watch(i);
}

// Runs on the checker's thread (start() runs before that thread does).
void HealthChecker::watch(std::size_t i) {
  if (probe_timers_.size() <= i) probe_timers_.resize(i + 1);
  probe_timers_[i] = std::make_unique<timer_t>(ioc_->get_executor());
  asio::co_spawn(ioc_->get_executor(), probe_loop(i), asio::detached);
  if (cfg_.discovery.model_discovery_enabled) {
    asio::co_spawn(ioc_->get_executor(), discovery_loop(i), asio::detached);
  }
}

void HealthChecker::add(std::size_t i) {
  if (ioc_) asio::post(*ioc_, [this, i] { watch(i); });
}

void HealthChecker::stop() {
  probe_timers_.clear();
  ioc_ = nullptr;
}

void HealthChecker::request_probe(std::size_t i) {
  if (!ioc_) return;
  asio::post(*ioc_, [this, i] {
    if (i < probe_timers_.size() && probe_timers_[i]) probe_timers_[i]->cancel();
  });
}

task<config::Duration> HealthChecker::probe(std::size_t i) {
  auto& ep = pool_.at(i);
  const auto res = co_await proxy::http_get(ep.cfg, tls_.get(i), ep.cfg.health_check_url,
                                            ep.cfg.check_timeout, 64 << 10);
  const auto before = ep.status.load();
  const auto now = classify_probe(res.status);
  ep.status.store(now);
  if (before != now) {
    if (now == EndpointStatus::healthy) {
      spdlog::info("endpoint {} is healthy ({})", ep.cfg.name, ep.cfg.url);
    } else {
      spdlog::warn("endpoint {} is {}: {}", ep.cfg.name, to_string(now),
                   res.ec ? res.ec.message() : "HTTP " + std::to_string(res.status));
    }
  }
  if (now == EndpointStatus::healthy && before != EndpointStatus::healthy &&
      cfg_.discovery.model_discovery_enabled) {
    co_await discover_models(i);
  }
  co_return now == EndpointStatus::rate_limited ? parse_retry_after(res.retry_after)
                                                : config::Duration(0);
}

task<void> HealthChecker::probe_loop(std::size_t i) {
  auto& ep = pool_.at(i);
  auto& timer = *probe_timers_[i];
  int failures = 0;
  const auto epoch_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  while (!ep.retired.load()) {
    const auto retry_after = co_await probe(i);
    ep.last_check_ms.store(epoch_ms());
    failures = ep.status.load() == EndpointStatus::healthy ? 0 : failures + 1;
    // The interval doubles from the second failure in a row, so one blip is re-checked promptly.
    const auto delay =
        next_probe_delay(ep.cfg.check_interval, failures > 0 ? failures - 1 : 0, retry_after);
    ep.next_check_ms.store(epoch_ms() + delay.count());
    timer.expires_after(delay);
    co_await timer.async_wait(use_tuple);  // cancelled by request_probe(): probe at once
  }
  ep.next_check_ms.store(0);
}

task<void> HealthChecker::discover_models(std::size_t i) {
  auto& ep = pool_.at(i);
  const auto timeout = cfg_.discovery.model_discovery_timeout;
  const auto listing = co_await proxy::http_get(ep.cfg, tls_.get(i), ep.cfg.model_url, timeout);
  if (listing.status != 200) {
    spdlog::warn("endpoint {}: model discovery at {} failed: {}", ep.cfg.name, ep.cfg.model_url,
                 listing.ec ? listing.ec.message() : "HTTP " + std::to_string(listing.status));
    co_return;
  }
  auto models = nlohmann::json::parse(listing.body, nullptr, false);
  if (!models.is_object() || !models.contains("data") || !models["data"].is_array()) {
    spdlog::warn("endpoint {}: {} did not return a model list", ep.cfg.name, ep.cfg.model_url);
    co_return;
  }
  // LiteLLM's /v1/models says owned_by "openai" for everything; /model/info knows the provider.
  std::unordered_map<std::string, std::string> info_provider;
  const auto info = co_await proxy::http_get(ep.cfg, tls_.get(i), "/model/info", timeout);
  if (info.status == 200) {
    auto j = nlohmann::json::parse(info.body, nullptr, false);
    if (j.is_object() && j.contains("data") && j["data"].is_array()) {
      for (const auto& m : j["data"]) {
        if (!m.is_object() || !m.contains("model_name") || !m["model_name"].is_string()) continue;
        const auto* mi =
            m.contains("model_info") && m["model_info"].is_object() ? &m["model_info"] : nullptr;
        if (mi && mi->contains("litellm_provider") && (*mi)["litellm_provider"].is_string()) {
          info_provider.emplace(m["model_name"].get<std::string>(),
                                (*mi)["litellm_provider"].get<std::string>());
        }
      }
    }
  }
  std::vector<ModelInfo> list;
  for (const auto& m : models["data"]) {
    if (!m.is_object() || !m.contains("id") || !m["id"].is_string()) continue;
    ModelInfo mi;
    mi.id = m["id"].get<std::string>();
    const std::string owned_by = m.value("owned_by", std::string());
    auto it = info_provider.find(mi.id);
    mi.provider = resolve_provider(mi.id, it == info_provider.end() ? "" : it->second, owned_by);
    mi.created = m.contains("created") && m["created"].is_number_integer()
                     ? m["created"].get<std::int64_t>()
                     : 0;
    list.push_back(std::move(mi));
  }
  spdlog::info("endpoint {}: {} models", ep.cfg.name, list.size());
  if (ep.retired.load()) co_return;  // removed by a reload while discovery ran
  pool_.models().set_models(i, std::move(list));
}

task<void> HealthChecker::discovery_loop(std::size_t i) {
  timer_t timer(co_await asio::this_coro::executor);
  for (;;) {
    timer.expires_after(cfg_.discovery.model_discovery_interval);
    auto [ec] = co_await timer.async_wait(use_tuple);
    if (ec || pool_.at(i).retired.load()) co_return;
    if (pool_.at(i).routable()) co_await discover_models(i);
  }
}

}  // namespace olla::pool
