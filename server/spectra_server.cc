#include "server/spectra_server.h"

#include <fcntl.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/impl/server_builder_plugin.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

#include "server/request_decode.h"
#include "server/security_setup.h"
#include "server/server_health.h"
#include "server/version.h"

namespace sgdspectra::server {
namespace {

// After the jobs have ended, how long open streams get to deliver their terminal events
// before the gRPC server cancels them.
constexpr auto kStreamGrace = std::chrono::seconds(3);
constexpr char kServiceName[] = "sgdspectra.v1.SgdSpectra";

// Linking libgrpc++_reflection registers its plugin for every server at static-init time, so
// --reflection off has to take it out again; this builder option does.
class WithoutReflection : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments* /*args*/) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    plugins->erase(std::remove_if(plugins->begin(), plugins->end(),
                                  [](const std::unique_ptr<grpc::ServerBuilderPlugin>& plugin) {
                                    return plugin->name() == "proto_server_reflection";
                                  }),
                   plugins->end());
  }
};

bool IsLoopback(const std::string& listen) {
  return listen.rfind("127.", 0) == 0 || listen.rfind("localhost:", 0) == 0 ||
         listen.rfind("[::1]:", 0) == 0;
}

// Connections hold file descriptors: idle ones, ones that never finish their set-up and (when
// asked) old ones are closed. gRPC reads INT_MAX as "never" for the idle and age limits.
void AddConnectionLimits(const ServerOptions& options, grpc::ServerBuilder* builder) {
  const auto or_never = [](int ms) { return ms > 0 ? ms : INT_MAX; };
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_IDLE_MS,
                              or_never(options.max_connection_idle_ms));
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_MS,
                              or_never(options.max_connection_age_ms));
  builder->AddChannelArgument(GRPC_ARG_MAX_CONNECTION_AGE_GRACE_MS,
                              or_never(options.max_connection_age_grace_ms));
  builder->AddChannelArgument(GRPC_ARG_SERVER_HANDSHAKE_TIMEOUT_MS, options.handshake_timeout_ms);
}

// Message sizes, keepalive and reflection: the transport settings of ServerOptions.
void ConfigureBuilder(const ServerOptions& options, grpc::ServerBuilder* builder) {
  if (!options.reflection) builder->SetOption(std::make_unique<WithoutReflection>());
  builder->SetMaxReceiveMessageSize(options.max_message_bytes);
  builder->SetMaxSendMessageSize(options.max_message_bytes);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, options.keepalive.time_ms);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, options.keepalive.timeout_ms);
  builder->AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS,
                              options.keepalive.permit_without_calls ? 1 : 0);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS,
                              options.keepalive.min_client_ping_interval_ms);
  builder->AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);  // no limit
  AddConnectionLimits(options, builder);
  // An undecodable request gets INVALID_ARGUMENT with a message (server/request_decode.h).
  std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> interceptors;
  interceptors.push_back(std::make_unique<RequestDecodeInterceptorFactory>());
  builder->experimental().SetInterceptorCreators(std::move(interceptors));
}

// The listening rule, the TLS credentials of the port and the call authenticator
// (server/security_options.h, server/security_setup.h); logs what protects the port.
Status SetUpSecurity(const ServerOptions& options,
                     std::shared_ptr<grpc::ServerCredentials>* credentials,
                     std::unique_ptr<CallAuthenticator>* authenticator) {
  const SecurityOptions& security = options.security;
  std::string insecure_warning;
  Status status = CheckListenSecurity(options.listen, security, &insecure_warning);
  if (status.ok()) status = MakeServerCredentials(security, credentials);
  if (status.ok()) status = MakeCallAuthenticator(security, authenticator);
  if (!status.ok()) return status;
  if (!insecure_warning.empty()) spdlog::warn("{}", insecure_warning);
  const char* transport = !security.tls()                  ? "plaintext (no TLS)"
                          : security.tls_client_ca.empty() ? "TLS"
                                                           : "mutual TLS";
  spdlog::info("security: {}, {}", transport,
               security.tokens() ? "bearer tokens from " + security.auth_tokens
                                 : std::string("no authentication (one principal sees every job)"));
  return Status::Ok();
}

// --metrics-listen (nothing when unset) and its --metrics-port-file.
Status StartMetricsListener(const ServerOptions& options, ServerMetrics* metrics) {
  if (options.metrics_listen.empty()) return Status::Ok();
  Status status = metrics->Listen(options.metrics_listen);
  if (!status.ok()) return status;
  spdlog::info("metrics at http://{}/metrics (port {})", options.metrics_listen, metrics->port());
  if (!IsLoopback(options.metrics_listen)) {
    spdlog::warn("metrics on {} are readable by anyone who can reach it (job counts, timings)",
                 options.metrics_listen);
  }
  if (options.metrics_port_file.empty()) return Status::Ok();
  return WritePortFile(options.metrics_port_file, metrics->port());
}

}  // namespace

Status WritePortFile(const std::string& path, int port) {
  const std::string temp = path + ".tmp." + std::to_string(getpid());
  const std::string text = std::to_string(port) + "\n";
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return Status::Internal("port file " + temp + ": " + std::strerror(errno));
  const bool written = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  const bool synced = fsync(fd) == 0;
  close(fd);
  if (!written || !synced || rename(temp.c_str(), path.c_str()) != 0) {
    unlink(temp.c_str());
    return Status::Internal("port file " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Status SpectraServer::Start(const ServerOptions& options, std::unique_ptr<SpectraServer>* out) {
  if (options.data_dir.empty()) return Status::InvalidArgument("--data-dir: must be set");
  // Security first: a server that may not listen as asked creates and opens nothing.
  std::shared_ptr<grpc::ServerCredentials> credentials;
  std::unique_ptr<CallAuthenticator> authenticator;
  const Status secure = SetUpSecurity(options, &credentials, &authenticator);
  if (!secure.ok()) return secure;
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    return Status::Internal("--data-dir " + options.data_dir + ": " + error.message());
  }

  std::unique_ptr<SpectraServer> server(new SpectraServer(options));
  Status status = JobStore::Open(options.data_dir, &server->store_);
  if (!status.ok()) return status;
  server->store_->set_metrics(server->metrics_.get());
  authenticator->set_metrics(server->metrics_.get());
  JobManagerOptions manager_options;
  manager_options.workers = options.workers;
  manager_options.queue_capacity = options.queue;
  manager_options.default_threads = options.threads;
  manager_options.max_job_memory_bytes =
      options.max_job_memory_bytes > 0 ? options.max_job_memory_bytes : DefaultMaxJobMemoryBytes();
  manager_options.max_events_per_job = options.max_events_per_job;
  manager_options.build_version = BuildVersion();
  manager_options.metrics = server->metrics_.get();
  status = JobManager::Create(server->store_.get(), manager_options, &server->manager_);
  if (!status.ok()) return status;
  server->executor_ = std::make_unique<RequestExecutor>(options.request_threads);
  ServiceOptions service_options;
  service_options.default_threads = options.threads;
  service_options.max_message_bytes = options.max_message_bytes;
  service_options.max_sample_streams = options.max_sample_streams;
  server->authenticator_ = std::move(authenticator);
  service_options.authenticator = server->authenticator_.get();
  service_options.metrics = server->metrics_.get();
  server->service_ = std::make_unique<SgdSpectraService>(server->manager_.get(),
                                                         server->executor_.get(), service_options);

  grpc::EnableDefaultHealthCheckService(true);
  if (options.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, credentials, &server->port_);
  builder.RegisterService(server->service_.get());
  ConfigureBuilder(options, &builder);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return Status::Internal("cannot listen on " + options.listen);
  }
  // SERVING, and the watchdog of the store and the listener (server/server_health.h).
  server->health_ =
      std::make_unique<ServerHealth>(server->server_->GetHealthCheckService(), kServiceName,
                                     server->store_.get(), options, server->port_);

  // Before the port file: whoever waits for it finds the metrics port file there too.
  status = StartMetricsListener(options, server->metrics_.get());
  if (!status.ok()) return status;
  if (!options.port_file.empty()) {
    status = WritePortFile(options.port_file, server->port_);
    if (!status.ok()) return status;
  }
  spdlog::info(
      "sgdspectra-server {} listening on {} (port {}), data dir {}, {} workers, "
      "queue {}, {} threads per job{}",
      BuildVersion(), options.listen, server->port_, options.data_dir, options.workers,
      options.queue, options.threads, options.reflection ? ", reflection on" : "");
  *out = std::move(server);
  return Status::Ok();
}

SpectraServer::~SpectraServer() {
  // A server that failed during Start() is only partly built and was never serving.
  if (server_ != nullptr) Shutdown();
}

Status SpectraServer::ReloadAuthTokens() {
  const Status status = authenticator_->ReloadTokens();
  if (status.ok()) {
    spdlog::info("reloaded bearer tokens from {}", options_.security.auth_tokens);
  } else {
    spdlog::error("token reload failed, the previous tokens stay in force: {}", status.message());
  }
  return status;
}

void SpectraServer::BeginDrain() {
  {
    std::lock_guard<std::mutex> lock(drain_mutex_);
    if (draining_) return;
    draining_ = true;
  }
  if (health_ != nullptr) health_->SetDraining();
  manager_->BeginDrain();
}

bool SpectraServer::Shutdown() {
  std::lock_guard<std::mutex> lock(shutdown_mutex_);
  if (shut_down_) return stopped_cleanly_;
  shut_down_ = true;
  if (health_ != nullptr) health_->StopWatchdog();
  BeginDrain();
  if (!manager_->WaitIdle(std::chrono::milliseconds(options_.shutdown_timeout_ms))) {
    // A run stuck in a step that does not poll its cancel hook: its watchers still get a
    // terminal event now, and the process does not wait for it (main exits at once).
    const int forced = manager_->FinishRunningJobs(
        "server shutting down: the run did not stop within --shutdown-timeout-ms " +
        std::to_string(options_.shutdown_timeout_ms));
    spdlog::warn("{} jobs still running after {} ms: finished them as SERVER_SHUTDOWN", forced,
                 options_.shutdown_timeout_ms);
  }
  server_->Shutdown(std::chrono::system_clock::now() + kStreamGrace);
  executor_->Shutdown();
  stopped_cleanly_ = manager_->WaitWorkersExited(std::chrono::milliseconds(0));
  if (stopped_cleanly_) manager_->Shutdown();
  const Status status = store_->Checkpoint();
  if (!status.ok()) spdlog::warn("{}", status.message());
  spdlog::info(stopped_cleanly_ ? "server stopped"
                                : "server stopped; a run is still on a worker thread");
  return stopped_cleanly_;
}

void SpectraServer::SetFailureHandler(std::function<void()> handler) {
  health_->SetFailureHandler(std::move(handler));
}

std::string SpectraServer::failure() const {
  return health_ != nullptr ? health_->failure() : std::string();
}

}  // namespace sgdspectra::server
