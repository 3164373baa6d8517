// One snapshot spectrum as JSON, shared by bench/snapshot_timer and bench/experiment_dump (and
// read by bench/compare_snapshots.py). Uses only fields every core version has, so both tools
// still compile against older cores.
#ifndef SGDSPECTRA_BENCH_SNAPSHOT_JSON_H_
#define SGDSPECTRA_BENCH_SNAPSHOT_JSON_H_

#include <nlohmann/json.hpp>

#include "sgdspectra/core/snapshot.h"

namespace sgdspectra {

inline nlohmann::json SpectrumJson(const SpectrumReport& s) {
  nlohmann::json j;
  j["matrix"] = MatrixKindName(s.matrix);
  j["block"] = BlockKindName(s.block);
  j["index"] = s.block_index;
  j["values"] = s.top_eigenvalues;
  j["edge"] = s.bulk_edge;
  j["count"] = s.outlier_count;
  j["expected"] = s.expected_outliers;
  j["align_outliers"] = s.alignment_at_outliers;
  j["align_expected"] = s.alignment_at_expected;
  j["overlap"] = s.overlap_with_means;
  j["products"] = s.solver.products;
  j["null_products"] = s.edge_solver.products;
  j["converged"] = s.solver.converged;
  j["seconds"] = s.solver.seconds;
  j["method"] = SolverMethodName(s.solver.method);
  return j;
}

}  // namespace sgdspectra

#endif  // SGDSPECTRA_BENCH_SNAPSHOT_JSON_H_
