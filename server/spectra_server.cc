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
#include <cstring>
#include <filesystem>
#include <system_error>
#include <vector>

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
  std::error_code error;
  std::filesystem::create_directories(options.data_dir, error);
  if (error) {
    return Status::Internal("--data-dir " + options.data_dir + ": " + error.message());
  }

  std::unique_ptr<SpectraServer> server(new SpectraServer(options));
  Status status = JobStore::Open(options.data_dir, &server->store_);
  if (!status.ok()) return status;
  JobManagerOptions manager_options;
  manager_options.workers = options.workers;
  manager_options.queue_capacity = options.queue;
  manager_options.default_threads = options.threads;
  manager_options.max_job_memory_bytes =
      options.max_job_memory_bytes > 0 ? options.max_job_memory_bytes : DefaultMaxJobMemoryBytes();
  manager_options.max_events_per_job = options.max_events_per_job;
  manager_options.build_version = BuildVersion();
  status = JobManager::Create(server->store_.get(), manager_options, &server->manager_);
  if (!status.ok()) return status;
  server->executor_ = std::make_unique<RequestExecutor>(options.request_threads);
  ServiceOptions service_options;
  service_options.default_threads = options.threads;
  service_options.max_message_bytes = options.max_message_bytes;
  service_options.max_sample_streams = options.max_sample_streams;
  server->service_ = std::make_unique<SgdSpectraService>(server->manager_.get(),
                                                         server->executor_.get(), service_options);

  grpc::EnableDefaultHealthCheckService(true);
  if (options.reflection) grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  if (!IsLoopback(options.listen)) {
    spdlog::warn("listening on {} without TLS or tokens: anyone who can reach it can run jobs",
                 options.listen);
  }
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(server->service_.get());
  ConfigureBuilder(options, &builder);
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return Status::Internal("cannot listen on " + options.listen);
  }
  grpc::HealthCheckServiceInterface* health = server->server_->GetHealthCheckService();
  health->SetServingStatus(true);
  health->SetServingStatus(kServiceName, true);

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

void SpectraServer::BeginDrain() {
  {
    std::lock_guard<std::mutex> lock(drain_mutex_);
    if (draining_) return;
    draining_ = true;
  }
  grpc::HealthCheckServiceInterface* health = server_->GetHealthCheckService();
  health->SetServingStatus(false);
  health->SetServingStatus(kServiceName, false);
  manager_->BeginDrain();
}

void SpectraServer::Shutdown() {
  std::lock_guard<std::mutex> lock(shutdown_mutex_);
  if (shut_down_) return;
  shut_down_ = true;
  BeginDrain();
  if (!manager_->WaitIdle(std::chrono::milliseconds(options_.shutdown_timeout_ms))) {
    spdlog::warn("jobs still running after {} ms; shutting down anyway",
                 options_.shutdown_timeout_ms);
  }
  server_->Shutdown(std::chrono::system_clock::now() + kStreamGrace);
  executor_->Shutdown();
  manager_->Shutdown();
  const Status status = store_->Checkpoint();
  if (!status.ok()) spdlog::warn("{}", status.message());
  spdlog::info("server stopped");
}

}  // namespace sgdspectra::server
