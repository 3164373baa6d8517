// The job spec's fields as data: one row per field of the public JobSpec message, named by its
// proto path ("analysis.null_tol"), with where it lives in ExperimentSpec, how the proto's
// "unset" maps onto it, and its bound.
//
// This table is the spec's one source of truth below the proto:
//   - the server converts proto <-> ExperimentSpec in both directions by walking it with
//     protobuf reflection (server/spec_convert.cc), so it never lists fields itself;
//   - ExperimentSpec::Validate() checks every row's bound (cross-field rules stay in code);
//   - the clients take flags, `--set` names and help texts from the proto descriptor.
// A new setting is therefore: the proto field, the ExperimentSpec member, one row here (and a
// cross-field rule in Validate() if it has one). A test walks the proto descriptor and fails
// when a proto field has no row, a row names no proto field, or a row does not round-trip.
//
// Core knows the proto's field paths and enum value names as plain strings (the same strings
// its Validate() messages start with); it does not depend on protobuf.
//
// Thread-safety: the table is built once, immutable, and safe to read from any thread.
#ifndef SGDSPECTRA_CORE_SPEC_FIELDS_H_
#define SGDSPECTRA_CORE_SPEC_FIELDS_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "sgdspectra/core/experiment_spec.h"

namespace sgdspectra {

// How the proto's value maps onto the member.
enum class Presence {
  kZeroIsDefault,  // proto3 plain field: 0 (or "", false, the enum's 0) keeps the core default
  kOptional,       // proto3 `optional`: unset keeps the core default; any set value is copied
  kAsIs,           // copied as given: 0 means the same in core ("derive", "auto")
};

// An interval a value must lie in; NaN lies in none.
struct FieldBound {
  double lo = -std::numeric_limits<double>::infinity();
  double hi = std::numeric_limits<double>::infinity();
  bool lo_open = false;
  bool hi_open = false;
  bool zero_allowed = false;  // 0 is accepted too (a "0 = derive" value the core keeps)

  bool Contains(double value) const;
  // "in (0, 1e8]", "0 or in (0, 10]": the text after "must be " in Validate()'s messages.
  std::string Describe() const;
};

FieldBound Closed(double lo, double hi);    // [lo, hi]
FieldBound LeftOpen(double lo, double hi);  // (lo, hi]
FieldBound Open(double lo, double hi);      // (lo, hi)

// A pointer to the member a row describes. Enums are the core's own; their proto value names
// are in ProtoEnumValueNames().
using SpecMember = std::variant<bool*, int*, long*, uint64_t*, double*, std::string*,
                                std::vector<double>*, ScheduleKind*, OutlierMethod*, SolveTarget*>;

struct SpecField {
  const char* path;  // proto field path, e.g. "xor_task.decoy_draws"
  Presence presence;
  // The member in `spec`. Reading a const spec goes through MemberOf(), which never writes.
  SpecMember (*member)(ExperimentSpec& spec);
  // Checked by Validate() when the field applies; nullopt = checked by hand there.
  std::optional<FieldBound> bound;
  // Whether the field is used by `spec` (its task, its schedule kind); nullptr = always.
  bool (*applies)(const ExperimentSpec& spec) = nullptr;
};

// Every field of JobSpec except the task oneof itself (see TaskFieldName), in proto order.
const std::vector<SpecField>& SpecFields();

// The row whose path is `path`, or nullptr.
const SpecField* FindSpecField(const std::string& path);

// The member of a const spec, for reading only.
SpecMember MemberOf(const SpecField& field, const ExperimentSpec& spec);

// The proto name of the task oneof's member for `task` ("kgmm", "xor_task"), and back.
const char* TaskFieldName(TaskKind task);
std::optional<TaskKind> TaskFromFieldName(const std::string& name);

// Proto value names of a core enum, indexed by the core value (the proto's 0 value,
// *_UNSPECIFIED, is "the default" and not listed).
const std::vector<std::string>& ProtoEnumValueNames(ScheduleKind);
const std::vector<std::string>& ProtoEnumValueNames(OutlierMethod);
const std::vector<std::string>& ProtoEnumValueNames(SolveTarget);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SPEC_FIELDS_H_
