// SnapshotRecorder: an ExperimentObserver that keeps every snapshot, for tests that run an
// experiment and then read its snapshots. Never stops the run. Single-threaded use.
#ifndef SGDSPECTRA_TESTS_CORE_SNAPSHOT_RECORDER_H_
#define SGDSPECTRA_TESTS_CORE_SNAPSHOT_RECORDER_H_

#include <vector>

#include "sgdspectra/core/experiment.h"

namespace sgdspectra {

class SnapshotRecorder : public ExperimentObserver {
 public:
  bool OnSnapshot(const Snapshot& s) override {
    snapshots.push_back(s);
    return true;
  }
  std::vector<Snapshot> snapshots;
};

}  // namespace sgdspectra

#endif  // SGDSPECTRA_TESTS_CORE_SNAPSHOT_RECORDER_H_
