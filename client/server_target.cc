#include "client/server_target.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>

#include <algorithm>

#include "client/connection.h"
#include "client/text_util.h"
#include "sgdspectra/v1/jobs.grpc.pb.h"

namespace sgdspectra::client {
namespace {

enum class Family { kIpv4, kIpv6 };

struct Endpoint {
  std::string address;  // "A.B.C.D:PORT" or "[V6]:PORT"
  Family family;
};

bool StartsWith(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

// "host:port" or "[v6]:port" -> host, port. False when there is no port.
bool SplitHostPort(const std::string& item, std::string* host, std::string* port) {
  if (StartsWith(item, "[")) {
    const size_t close = item.find(']');
    if (close == std::string::npos || close + 1 >= item.size() || item[close + 1] != ':') {
      return false;
    }
    *host = item.substr(1, close - 1);
    *port = item.substr(close + 2);
  } else {
    const size_t colon = item.rfind(':');
    if (colon == std::string::npos) return false;
    *host = item.substr(0, colon);
    *port = item.substr(colon + 1);
  }
  return !host->empty() && !port->empty() &&
         port->find_first_not_of("0123456789") == std::string::npos;
}

// Every address `host` resolves to now (numeric hosts included), with `port`.
bool Resolve(const std::string& host, const std::string& port, std::vector<Endpoint>* out) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) return false;
  for (const addrinfo* entry = found; entry != nullptr; entry = entry->ai_next) {
    char text[INET6_ADDRSTRLEN] = {};
    if (entry->ai_family == AF_INET) {
      const auto* ipv4 = reinterpret_cast<const sockaddr_in*>(entry->ai_addr);
      inet_ntop(AF_INET, &ipv4->sin_addr, text, sizeof(text));
      out->push_back({std::string(text) + ":" + port, Family::kIpv4});
    } else if (entry->ai_family == AF_INET6) {
      const auto* ipv6 = reinterpret_cast<const sockaddr_in6*>(entry->ai_addr);
      inet_ntop(AF_INET6, &ipv6->sin6_addr, text, sizeof(text));
      out->push_back({"[" + std::string(text) + "]:" + port, Family::kIpv6});
    }
  }
  freeaddrinfo(found);
  return true;
}

void AppendUnique(const std::vector<Endpoint>& endpoints, ServerTarget* target) {
  for (const Endpoint& endpoint : endpoints) {
    if (std::find(target->endpoints.begin(), target->endpoints.end(), endpoint.address) ==
        target->endpoints.end()) {
      target->endpoints.push_back(endpoint.address);
    }
  }
}

// An explicit list of replicas: each item resolved here, one ipv4:/ipv6: channel target.
bool ParseList(const std::string& list, ServerTarget* target, std::string* error) {
  std::vector<Endpoint> endpoints;
  for (const std::string& item : SplitString(list, ',')) {
    std::string host;
    std::string port;
    if (!SplitHostPort(item, &host, &port)) {
      *error = "--server: '" + item + "' is not HOST:PORT";
      return false;
    }
    std::vector<Endpoint> resolved;
    if (!Resolve(host, port, &resolved) || resolved.empty()) {
      *error = "--server: cannot resolve '" + host + "'";
      return false;
    }
    endpoints.insert(endpoints.end(), resolved.begin(), resolved.end());
  }
  const bool all_ipv4 = std::all_of(endpoints.begin(), endpoints.end(),
                                    [](const Endpoint& e) { return e.family == Family::kIpv4; });
  const bool all_ipv6 = std::all_of(endpoints.begin(), endpoints.end(),
                                    [](const Endpoint& e) { return e.family == Family::kIpv6; });
  if (!all_ipv4 && !all_ipv6) {
    // gRPC's static-address schemes take one family per target.
    *error = "--server: the list mixes IPv4 and IPv6 addresses; give one family";
    return false;
  }
  AppendUnique(endpoints, target);
  std::string joined;
  for (const std::string& address : target->endpoints) {
    joined += (joined.empty() ? "" : ",") + address;
  }
  target->channel_target = (all_ipv4 ? "ipv4:" : "ipv6:") + joined;
  return true;
}

}  // namespace

bool ParseServerTarget(const std::string& text, ServerTarget* target, std::string* error) {
  *target = ServerTarget();
  target->given = text;
  if (text.empty()) {
    *error = "--server: must not be empty";
    return false;
  }
  if (StartsWith(text, "ipv4:") || StartsWith(text, "ipv6:")) {
    return ParseList(text.substr(5), target, error);
  }
  if (text.find(',') != std::string::npos && text.find("://") == std::string::npos) {
    return ParseList(text, target, error);
  }
  target->channel_target = text;
  // "dns:///host:port", "dns://authority/host:port", "dns:host:port", or a bare "host:port".
  std::string name = text;
  if (StartsWith(text, "dns:")) {
    name = text.substr(4);
    if (StartsWith(name, "//")) {
      const size_t slash = name.find('/', 2);
      name = slash == std::string::npos ? std::string() : name.substr(slash + 1);
    }
  } else if (text.find("://") != std::string::npos || StartsWith(text, "unix:") ||
             StartsWith(text, "unix-abstract:") || StartsWith(text, "vsock:")) {
    target->endpoints.push_back(text);  // a scheme we leave to gRPC
    return true;
  }
  std::string host;
  std::string port;
  std::vector<Endpoint> resolved;
  if (SplitHostPort(name, &host, &port) && Resolve(host, port, &resolved) && !resolved.empty()) {
    AppendUnique(resolved, target);
  } else {
    target->endpoints.push_back(text);
  }
  return true;
}

std::shared_ptr<grpc::Channel> MakeBalancedChannel(const ServerTarget& target) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  args.SetLoadBalancingPolicyName("round_robin");
  return MakeSecureChannel(target.channel_target, target.security, args);
}

grpc::Status LocateJob(const ServerTarget& target, const std::string& job_id,
                       double timeout_seconds, std::shared_ptr<grpc::Channel>* channel,
                       std::string* endpoint) {
  grpc::Status first_error = grpc::Status::OK;
  int not_found = 0;
  for (const std::string& address : target.endpoints) {
    std::shared_ptr<grpc::Channel> candidate = MakeChannel(address, target.security);
    grpc::ClientContext call;
    SetDeadlineAfter(&call, timeout_seconds);
    v1::GetJobRequest request;
    request.set_job_id(job_id);
    v1::Job job;
    const grpc::Status status = v1::SgdSpectra::NewStub(candidate)->GetJob(&call, request, &job);
    if (status.ok()) {
      *channel = std::move(candidate);
      *endpoint = address;
      return status;
    }
    if (status.error_code() == grpc::StatusCode::NOT_FOUND) {
      ++not_found;
    } else if (first_error.ok()) {
      first_error = grpc::Status(status.error_code(), address + ": " + status.error_message());
    }
  }
  if (not_found > 0 && first_error.ok()) {
    return grpc::Status(grpc::StatusCode::NOT_FOUND, "job " + job_id + " not found on any of " +
                                                         std::to_string(not_found) +
                                                         " replicas of " + target.given);
  }
  if (not_found > 0) {
    // Some replicas could not be asked; the job may be on one of them.
    return grpc::Status(first_error.error_code(), "job " + job_id + " not found on " +
                                                      std::to_string(not_found) + " replicas; " +
                                                      first_error.error_message());
  }
  return first_error;
}

}  // namespace sgdspectra::client
