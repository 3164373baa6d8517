#include "sgdspectra/core/snapshot.h"

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

}  // namespace sgdspectra
