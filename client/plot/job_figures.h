// JobFigures: the figures of one job, from its record (client/plot/job_record.h).
//
//   eigenvalues_<M>_<block>   one per matrix M (H, G) and block (class0, neuron2, layer1,
//                             layer2, full): each top eigenvalue against t as a line with
//                             markers, the bulk edge as a shaded band from the axis floor up,
//                             on a log y axis (linear when a value is <= 0; the axis label says
//                             which). Per-class / per-neuron blocks: the first kDefaultBlocksShown
//                             unless all_blocks.
//   alignment                 per matrix: alignment of the block's parameters with the top
//                             eigenspace (r = expected: solid; r = outlier count: dashed) and the
//                             overlap of that eigenspace with the span of the means, against t.
//   accuracy                  test accuracy (and the online train accuracy) against t.
//   spectrum_t<T>             at each chosen time: per matrix and block kind, a histogram of the
//                             top eigenvalues of all blocks of that kind with a vertical line at
//                             each block's outlier threshold, bulk edge x (1 + margin).
// Every title starts with the job's parameters (JobHeadline).
//
// Thread-safety: plain functions.
#ifndef SGDSPECTRA_CLIENT_PLOT_JOB_FIGURES_H_
#define SGDSPECTRA_CLIENT_PLOT_JOB_FIGURES_H_

#include <cstddef>
#include <string>
#include <vector>

#include "client/plot/figure.h"
#include "client/plot/job_record.h"

namespace sgdspectra::client::plot {

// Class / neuron blocks drawn by default (a job may have up to 64).
inline constexpr int kDefaultBlocksShown = 4;

struct JobFigureOptions {
  std::vector<double> times;  // spectrum times; empty = the first, middle and last snapshot
  bool all_blocks = false;    // every class / neuron block, not only the first few
};

struct JobFigures {
  std::vector<Figure> figures;
  std::vector<std::string> notes;  // for the report, e.g. which blocks were left out
};

JobFigures MakeJobFigures(const JobRecord& job, const JobFigureOptions& options);

// Indices of the snapshots nearest to each requested time (a tie goes to the earlier), each
// once, in time order. No times: the first, middle (index n / 2) and last snapshot.
std::vector<size_t> SelectSnapshots(const std::vector<v1::Snapshot>& snapshots,
                                    const std::vector<double>& times);

}  // namespace sgdspectra::client::plot

#endif  // SGDSPECTRA_CLIENT_PLOT_JOB_FIGURES_H_
