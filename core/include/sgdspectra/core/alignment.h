// Alignment of parameters with eigenspaces, and overlap of eigenspaces with the means.
// Pure functions; thread-safe.
#ifndef SGDSPECTRA_CORE_ALIGNMENT_H_
#define SGDSPECTRA_CORE_ALIGNMENT_H_

#include "sgdspectra/core/types.h"

namespace sgdspectra {

// |U^T v| / |v| for U (n x r) with orthonormal columns; 1 when v lies in span(U). Uses the
// first r columns of basis (r <= basis.cols()); 0 when r == 0 or v == 0.
double Alignment(const MatrixXd& basis, long r, const VectorXd& v);

// (1/r) |U^T Q|_F^2 for U the first r columns of basis and Q orthonormal; 1 when span(U) is
// inside span(Q). 0 when r == 0.
double SubspaceOverlap(const MatrixXd& basis, long r, const MatrixXd& reference);

// Orthonormal basis of the column span of a (n x k, full column rank): thin Householder QR.
MatrixXd OrthonormalBasis(const MatrixXd& a);

// Gur-Ari overlap |P g|^2 / |g|^2 with P the projector on the first r columns of basis.
double ProjectedFraction(const MatrixXd& basis, long r, const VectorXd& g);

}  // namespace sgdspectra

#endif  // SGDSPECTRA_CORE_ALIGNMENT_H_
