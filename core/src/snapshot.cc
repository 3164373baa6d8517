#include "sgdspectra/core/snapshot.h"

#include <algorithm>

namespace sgdspectra {

const char* MatrixKindName(MatrixKind m) { return m == MatrixKind::kHessian ? "H" : "G"; }

const char* BlockKindName(BlockKind b) {
  switch (b) {
    case BlockKind::kClass:
      return "class";
    case BlockKind::kFull:
      return "full";
    case BlockKind::kNeuron:
      return "neuron";
    case BlockKind::kFirstLayer:
      return "layer1";
    case BlockKind::kSecondLayer:
      return "layer2";
  }
  return "unknown";
}

const char* RankVerdictName(RankVerdict verdict) {
  switch (verdict) {
    case RankVerdict::kFullRank:
      return "full_rank";
    case RankVerdict::kRankDeficient:
      return "rank_deficient";
    case RankVerdict::kUndetermined:
      return "undetermined";
  }
  return "unknown";
}

void DecideRankVerdict(const std::function<std::string(int)>& block_name, ClassifierRank* rank) {
  const std::vector<int>& counts = rank->h_block_outliers;
  const int blocks = static_cast<int>(counts.size());
  auto marginal = [&](int i) {
    return i < static_cast<int>(rank->h_block_marginal.size()) ? rank->h_block_marginal[i] : 0;
  };
  rank->outlier_rank = blocks == 0 ? 0 : *std::min_element(counts.begin(), counts.end());
  // The blocks below the expected count, and whether their marginal eigenvalues could lift
  // every one of them to it.
  std::string short_blocks, marginal_blocks;
  bool could_reach = true;
  for (int i = 0; i < blocks; ++i) {
    if (counts[i] >= rank->expected_rank) continue;
    const std::string name = block_name(i) + " (" + std::to_string(counts[i]) + " outliers, " +
                             std::to_string(marginal(i)) + " marginal)";
    (short_blocks.empty() ? short_blocks : short_blocks += ", ") += name;
    if (counts[i] + marginal(i) >= rank->expected_rank) {
      (marginal_blocks.empty() ? marginal_blocks : marginal_blocks += ", ") += block_name(i);
    } else {
      could_reach = false;
    }
  }
  const std::string expected = std::to_string(rank->expected_rank);
  if (short_blocks.empty()) {
    rank->verdict = RankVerdict::kFullRank;
    rank->verdict_reason = "every H block has at least " + expected + " outliers";
  } else if (could_reach) {
    rank->verdict = RankVerdict::kUndetermined;
    rank->verdict_reason = "below " + expected + " outliers only by marginal eigenvalues (within " +
                           "the margin above the edge) in " + marginal_blocks +
                           "; a larger test sample (analysis.test_ratio) would decide";
  } else {
    rank->verdict = RankVerdict::kRankDeficient;
    rank->verdict_reason =
        "fewer than " + expected + " outliers even counting marginal ones: " + short_blocks;
  }
  rank->rank_deficient = rank->verdict == RankVerdict::kRankDeficient;
}

}  // namespace sgdspectra
