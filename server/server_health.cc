#include "server/server_health.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace sgdspectra::server {

ServerHealth::ServerHealth(grpc::HealthCheckServiceInterface* health, std::string service_name,
                           JobStore* store, const ServerOptions& options, int port)
    : health_(health), service_name_(std::move(service_name)) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Update();
  }
  WatchdogOptions watchdog_options;
  watchdog_options.interval = std::chrono::milliseconds(options.watchdog_interval_ms);
  watchdog_options.listener_failures = options.listener_probe_failures;
  WatchdogHooks hooks;
  hooks.check_store = [store]() {
    const Status last = store->write_status();
    // While writes fail, only a write can tell that they work again.
    return last.ok() ? last : store->ProbeWrite();
  };
  hooks.report_store = [this](bool ok) { OnStoreChecked(ok); };
  if (options.listener_probe_failures > 0) {
    // A probe waits at most half an interval, so ticks do not pile up.
    const auto timeout = std::chrono::milliseconds(std::max(50, options.watchdog_interval_ms / 2));
    hooks.probe_listener = [listen = options.listen, port, timeout] {
      return ProbeListener(listen, port, timeout);
    };
    hooks.on_listener_dead = [this](const std::string& why) { OnListenerDead(why); };
  }
  watchdog_ = std::make_unique<Watchdog>(watchdog_options, std::move(hooks));
}

ServerHealth::~ServerHealth() { StopWatchdog(); }

void ServerHealth::StopWatchdog() {
  if (watchdog_ != nullptr) watchdog_->Stop();
}

void ServerHealth::Update() {
  const bool serving = !draining_ && store_ok_ && failure_.empty();
  health_->SetServingStatus(serving);
  health_->SetServingStatus(service_name_, serving);
}

void ServerHealth::SetDraining() {
  std::lock_guard<std::mutex> lock(mutex_);
  draining_ = true;
  Update();
}

void ServerHealth::OnStoreChecked(bool ok) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (ok == store_ok_) return;
  store_ok_ = ok;
  if (ok) {
    spdlog::info("the store can write again: health SERVING");
  } else {
    spdlog::error("the store cannot write: health NOT_SERVING until a write succeeds");
  }
  Update();
}

void ServerHealth::OnListenerDead(const std::string& why) {
  std::function<void()> handler;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    failure_ = "the listener accepts no connections: " + why;
    Update();
    handler = failure_handler_;
  }
  spdlog::critical("{}; health NOT_SERVING, the server must be restarted", failure());
  if (handler) handler();
}

void ServerHealth::SetFailureHandler(std::function<void()> handler) {
  bool failed_already = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    failure_handler_ = handler;
    failed_already = !failure_.empty();
  }
  if (failed_already && handler) handler();  // the watchdog was quicker than the caller
}

std::string ServerHealth::failure() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return failure_;
}

bool ServerHealth::store_ok() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return store_ok_;
}

}  // namespace sgdspectra::server
