// Caller: who makes a request, as the job manager sees it. Transport-free (no gRPC): the
// service turns a call's credentials into a Caller (server/call_auth.h) and passes it to every
// JobManager method that reads or changes a job.
//
// Ownership of jobs: a job belongs to the principal that submitted it (Job.owner). A caller sees
// (gets, watches, lists, cancels, reads results of) only its own jobs, unless it sees all jobs:
// a principal named in --admin-principals, or every caller of a server without --auth-tokens
// (the loopback development mode, where all callers are the one principal kDefaultPrincipal).
// Plain value; thread-safe to share.
#ifndef SGDSPECTRA_SERVER_CALLER_H_
#define SGDSPECTRA_SERVER_CALLER_H_

#include <string>

namespace sgdspectra::server {

// The owner of jobs submitted without authentication, and of jobs recorded before jobs had
// owners (the store's migration gives them this one).
inline constexpr char kDefaultPrincipal[] = "default";

struct Caller {
  std::string principal = kDefaultPrincipal;
  bool sees_all_jobs = false;

  // Every caller of a server that checks no tokens: the default principal, seeing every job,
  // which is how the server behaved before it had principals.
  static Caller WithoutAuthentication() { return Caller{kDefaultPrincipal, true}; }

  // Whether this caller may see a job owned by `owner`. A job it may not see must look exactly
  // like a job that does not exist (same NOT_FOUND message), so that ids leak nothing.
  bool CanSee(const std::string& owner) const { return sees_all_jobs || owner == principal; }
};

}  // namespace sgdspectra::server

#endif  // SGDSPECTRA_SERVER_CALLER_H_
