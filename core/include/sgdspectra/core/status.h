// Status: the outcome of an operation that can fail, carried as a value.
//
// Errors cross module boundaries as Status values, never as exceptions (leveldb style).
// A Status is a small value type; copying is cheap. Thread-safety: immutable after
// construction, so safe to share.
#ifndef SGDSPECTRA_CORE_STATUS_H_
#define SGDSPECTRA_CORE_STATUS_H_

#include <string>
#include <utility>

namespace sgdspectra {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // a spec field is out of its bounds; the message names the field
  kCancelled,           // the caller's cancel hook asked to stop
  kNumericalError,      // NaN/Inf appeared in the dynamics or the analysis
  kResourceExhausted,   // a size would exceed the configured memory budget
  kFailedPrecondition,  // an object was used in the wrong state
  kInternal,            // a bug: an invariant did not hold
  kNotFound,            // a named object (e.g. a job id) does not exist
  kUnavailable,         // the service cannot take the request now (e.g. it is draining);
                        // the same request may succeed later or elsewhere
  kUnauthenticated,     // the caller did not prove who it is (no or unknown credentials)
};

class Status {
 public:
  Status() = default;  // OK
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status InvalidArgument(std::string m) {
    return Status(StatusCode::kInvalidArgument, std::move(m));
  }
  static Status Cancelled(std::string m) { return Status(StatusCode::kCancelled, std::move(m)); }
  static Status NumericalError(std::string m) {
    return Status(StatusCode::kNumericalError, std::move(m));
  }
  static Status ResourceExhausted(std::string m) {
    return Status(StatusCode::kResourceExhausted, std::move(m));
  }
  static Status FailedPrecondition(std::string m) {
    return Status(StatusCode::kFailedPrecondition, std::move(m));
  }
  static Status Internal(std::string m) { return Status(StatusCode::kInternal, std::move(m)); }
  static Status NotFound(std::string m) { return Status(StatusCode::kNotFound, std::move(m)); }
  static Status Unavailable(std::string m) {
    return Status(StatusCode::kUnavailable, std::move(m));
  }
  static Status Unauthenticated(std::string m) {
    return Status(StatusCode::kUnauthenticated, std::move(m));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

const char* StatusCodeName(StatusCode code);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_STATUS_H_
