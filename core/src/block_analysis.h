// The analysis of one matrix block, shared by every task: top-r eigenpairs, bulk edge, outlier
// count, alignment of the block's parameters with the outlier eigenspace and overlap of that
// space with the means. Internal to the core.
//
// Thread-safety: reentrant; the operators must not be shared by concurrent calls.
#ifndef SGDSPECTRA_CORE_SRC_BLOCK_ANALYSIS_H_
#define SGDSPECTRA_CORE_SRC_BLOCK_ANALYSIS_H_

#include <cstdint>

#include "sgdspectra/core/curvature_operators.h"
#include "sgdspectra/core/experiment_spec.h"
#include "sgdspectra/core/snapshot.h"

namespace sgdspectra {

struct BlockTarget {
  MatrixKind matrix = MatrixKind::kHessian;
  BlockKind block = BlockKind::kClass;
  int block_index = -1;
  const SymmetricOperator* op = nullptr;
  // The same matrix on the null inputs (cluster means removed); used by kNullModel.
  const SymmetricOperator* null_op = nullptr;
  VectorXd parameters;                       // the block's parameters, in op's layout
  const MatrixXd* mean_reference = nullptr;  // basis of span(means) in op's layout, or null
  int top_r = 1;
  int expected = 0;
  double trace = 0;      // of the matrix, for kMarchenkoPastur
  long num_samples = 1;  // M, for kMarchenkoPastur
  // When set (decoy null of hidden-space blocks), this edge and margin replace the rule.
  bool has_fixed_edge = false;
  double fixed_edge = 0;
  double fixed_margin = 0;
};

// Analyses target.op. Sets *cancelled when the cancel hook fired (the report is then partial).
// eigenvectors_out, when not null, receives the top eigenvectors (size x converged).
SpectrumReport AnalyzeBlock(const BlockTarget& target, const AnalysisSpec& analysis,
                            uint64_t solve_seed, const CancelFn& cancel, bool* cancelled,
                            MatrixXd* eigenvectors_out = nullptr);

// Solver outcome as reported in a snapshot.
SolverStats StatsOf(const EigenResult& result);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_SRC_BLOCK_ANALYSIS_H_
