#include "sgdspectra/core/snapshot.h"

namespace sgdspectra {

const char* MatrixKindName(MatrixKind m) { return m == MatrixKind::kHessian ? "H" : "G"; }

const char* BlockKindName(BlockKind b) { return b == BlockKind::kClass ? "class" : "full"; }

}  // namespace sgdspectra
