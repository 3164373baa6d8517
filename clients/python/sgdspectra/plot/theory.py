"""The predictions the figures overlay, each computed from a job's own resolved spec.

Every formula here says where it comes from. docs/SCIENCE.md is the reference for the science;
docs/REPRODUCTION.md holds the derivations checked against measurements.

1. Alignment of a random direction (SCIENCE.md K2 and X3 give the values at t = 0, "about 0.15"
   and "about 0.05"; REPRODUCTION.md K2 explains them). At initialisation the parameters of a
   block are an isotropic Gaussian vector x in R^D (k-GMM: x^c ~ N(0, I_d / d); XOR:
   W_i ~ N(0, I_d / d), v ~ N(0, I_K)), independent of the test sample (the eigenspace U
   depends on x only through the per-sample weights, to leading order not at all), so x / |x|
   is uniform on the sphere and, for a fixed r-dimensional eigenspace U,
       align^2 = |U^T x|^2 / |x|^2 ~ Beta(r/2, (D - r)/2),   E[align^2] = r / D.
   The overlay is sqrt(r / D) (the root mean square; sqrt(k/d) = 0.10 for K1's class blocks)
   with the 5 %-95 % quantiles of sqrt(Beta(r/2, (D - r)/2)) as its bar; r = the block's
   expected outlier count, D = the block's dimension (`block_dimension`). Not drawn for the XOR
   full matrix: (W, v) mixes N(0, 1/d) and N(0, 1) coordinates, so it is not isotropic.

2. BBP for the k-GMM class blocks at t = 0 (SCIENCE.md "What a snapshot measures": a spike
   theta above sqrt(gamma), gamma = d / M, gives an outlier near (1 + theta)(1 + gamma / theta);
   one below gives none; REPRODUCTION.md K3 applies it with theta = lambda / k).
   At t = 0 the logits x^c . Y are O(sqrt(1/d + 1/lambda)), so softmax(x . Y) = 1/k to leading
   order and the data-fit Hessian's class block is a weighted second-moment matrix
       H_cc = (1/M) sum_j pi_c (1 - pi_c) Y_j Y_j^T  ~=  w (1/M) sum_j Y_j Y_j^T,  w = (k-1)/k^2.
   E[Y Y^T] = sum_a p_a mu_a mu_a^T + I / lambda = (1/lambda) (I + lambda sum_a p_a mu_a mu_a^T):
   a spiked covariance with noise variance sigma^2 = w / lambda and spikes
       theta_i = lambda * eig_i(P^(1/2) G P^(1/2)),   P = diag(p), G = Gram matrix of the means
   (orthonormal means and uniform p: theta = lambda / k for each of the k spikes). With
   gamma = d / M (M = M_test, Accepted.test_sample_size):
       bulk edge (Marchenko-Pastur; also what the null model estimates): sigma^2 (1 + sqrt(gamma))^2
       outlier i, when theta_i > sqrt(gamma):   sigma^2 (1 + theta_i)(1 + gamma / theta_i)
       threshold: theta_i > sqrt(gamma), i.e. lambda p_a > sqrt(d / M) for orthonormal means
       overlap of the outlier eigenvector with its spike (REPRODUCTION.md K3):
           (1 - gamma/theta^2) / (1 + gamma/theta) = 1 - gamma (1 + theta) / (theta (theta + gamma))
   and overlap_with_means (r = k) is the mean of that over the k spikes (0 below threshold).
   Leading order in 1/d + 1/lambda (the spread of pi around 1/k); not drawn for G, whose
   per-sample weights (pi_c - y_c)^2 depend on the class, so its bulk is not Marchenko-Pastur.

2b. The Marchenko-Pastur density of the same class blocks at t = 0 (the density figure's
   overlay). Marchenko & Pastur, "Distribution of eigenvalues for some sets of random
   matrices", Math. USSR-Sbornik 1 (1967) 457-483; in the form of Bai & Silverstein, "Spectral
   Analysis of Large Dimensional Random Matrices" (2nd ed., 2010), chapter 3: the eigenvalues
   of (1/M) sum_j Y_j Y_j^T, Y_j in R^d with i.i.d. entries of variance s2, have as d, M -> inf,
   d / M -> gamma, the limiting density
       p(x) = sqrt((b - x)(x - a)) / (2 pi s2 gamma x)   on [a, b],
       a = s2 (1 - sqrt(gamma))^2,  b = s2 (1 + sqrt(gamma))^2,
   of total mass 1 for gamma <= 1 and 1/gamma for gamma > 1, when an atom of mass 1 - 1/gamma
   sits at 0 (rank <= M < d). Its mean is s2 (E tr/d of the matrix). For the class block H_cc
   (2. above) s2 = sigma^2 = (k-1)/(k^2 lambda) and gamma = d / M. The finite-rank spikes move k
   eigenvalues out of the bulk (the BBP outliers) without changing the limit law: in the block's
   normalized density (mass 1/d per eigenvalue) the outliers carry about k/d and the bulk the
   rest.

3. XOR success fraction (SCIENCE.md Task B: "With lambda large, about 3/32 of Gaussian
   initialisations reach the optimum"; table row X1, K = 4 hidden neurons: "finite-size runs
   give roughly 0.09-0.15"). Drawn for XOR sweeps with K = 4, the setting it is stated for.

4. Wilson score interval (95 %) of a success fraction s / n, as `sgdspectra sweep` writes it in
   aggregates.csv (client/sweep/sweep_results.cc): with p = s/n and z = 1.959963984540054,
       centre = (p + z^2/(2n)) / (1 + z^2/n),  half = z sqrt(p(1-p)/n + z^2/(4n^2)) / (1 + z^2/n),
   clipped to [0, 1]; n = 0 gives [0, 1].
"""

import dataclasses
import math

XOR_SUCCESS_FRACTION = 3.0 / 32.0
XOR_FINITE_SIZE_RANGE = (0.09, 0.15)
XOR_SUCCESS_HIDDEN = 4
WILSON_Z = 1.959963984540054
ALIGNMENT_QUANTILES = (0.05, 0.95)

# Defaults of jobs.proto, for specs that leave them out (a resolved spec fills them in).
_KGMM_DEFAULTS = {"dim": 400, "num_classes": 4, "snr": 20.0, "ridge": 0.1}
_XOR_DEFAULTS = {"dim": 250, "hidden": 4, "snr": 1000.0, "ridge": 0.1,
                 "second_layer_margin": 3.0}


@dataclasses.dataclass(frozen=True)
class TaskParams:
    """What the predictions need from a resolved spec (plain dict, snake_case keys)."""

    task: str                 # "kgmm", "xor" or "" (no task in the spec)
    dim: int                  # d
    units: int                # k classes (k-GMM) or K hidden neurons (XOR)
    snr: float                # lambda
    ridge: float              # beta / alpha
    class_probs: tuple        # k-GMM p_a (uniform when the spec leaves them out)
    mean_gram: tuple          # k-GMM Gram matrix, row-major (identity when left out)
    test_size: int            # M_test
    outlier_margin: float
    second_layer_margin: float
    schedule_kind: str        # "LOG_SPACED_TIME" or "EVERY_STEPS"
    t_first: float            # LOG_SPACED_TIME: the first positive time
    seed: int = 0
    name: str = ""

    @property
    def log_schedule(self):
        return self.schedule_kind in ("LOG_SPACED_TIME", "KIND_UNSPECIFIED", "")


def task_params(spec, test_sample_size=None):
    """TaskParams of a resolved spec (a plain dict as load_job keeps it, or a JobSpec proto);
    None when the spec names no task. `test_sample_size` (Accepted.test_sample_size) wins over
    ceil(test_ratio * d)."""
    if spec is None:
        return None
    if not isinstance(spec, dict):
        from ._data import normalize

        spec = normalize(spec)
    if not spec:
        return None
    analysis = spec.get("analysis") or {}
    schedule = spec.get("schedule") or {}
    if spec.get("kgmm") is not None:
        task, fields, defaults = "kgmm", spec["kgmm"], _KGMM_DEFAULTS
        units = int(fields.get("num_classes") or defaults["num_classes"])
    elif spec.get("xor_task") is not None:
        task, fields, defaults = "xor", spec["xor_task"], _XOR_DEFAULTS
        units = int(fields.get("hidden") or defaults["hidden"])
    else:
        return None
    dim = int(fields.get("dim") or defaults["dim"])
    ratio = float(analysis.get("test_ratio") or 2.0)
    probs = tuple(float(p) for p in fields.get("class_probs", ()) or ())
    gram = tuple(float(g) for g in fields.get("mean_gram", ()) or ())
    if task == "kgmm":
        probs = probs or tuple([1.0 / units] * units)
        gram = gram or tuple(1.0 if i == j else 0.0 for i in range(units) for j in range(units))
    return TaskParams(
        task=task, dim=dim, units=units, snr=float(fields.get("snr") or defaults["snr"]),
        ridge=float(fields["ridge"]) if fields.get("ridge") is not None else defaults["ridge"],
        class_probs=probs, mean_gram=gram,
        test_size=int(test_sample_size) if test_sample_size else int(math.ceil(ratio * dim)),
        outlier_margin=(float(analysis["outlier_margin"])
                        if analysis.get("outlier_margin") is not None else 0.05),
        second_layer_margin=(float(fields["second_layer_margin"])
                             if fields.get("second_layer_margin") is not None else 3.0),
        schedule_kind=str(schedule.get("kind") or "LOG_SPACED_TIME"),
        t_first=float(schedule.get("t_first") or 0.5),
        seed=int(spec.get("seed") or 0), name=str(spec.get("name") or ""))


# ---------------------------------------------------------------------------------------------
# 1. Random-direction alignment


def block_dimension(params, block):
    """D, the dimension of a block's parameter vector, or None where the random-direction law
    does not apply (the XOR full matrix, an unknown block)."""
    if params is None:
        return None
    if params.task == "kgmm":
        return {"CLASS_BLOCK": params.dim, "FULL": params.units * params.dim}.get(block)
    if params.task == "xor":
        return {"NEURON": params.dim, "FIRST_LAYER": params.units * params.dim,
                "SECOND_LAYER": params.units}.get(block)
    return None


def random_alignment(r, dimension):
    """sqrt(E[align^2]) = sqrt(r / D) for a uniformly random direction in R^D and a fixed
    r-dimensional subspace (r is capped at D: a subspace as large as the space holds all)."""
    r = min(int(r), int(dimension))
    return math.sqrt(r / dimension)


def random_alignment_interval(r, dimension, quantiles=ALIGNMENT_QUANTILES):
    """The quantiles of align = sqrt(Beta(r/2, (D - r)/2)) (see 1. above)."""
    r = min(int(r), int(dimension))
    if r >= dimension:
        return (1.0, 1.0)
    from scipy.stats import beta

    return tuple(math.sqrt(beta.ppf(q, r / 2.0, (dimension - r) / 2.0)) for q in quantiles)


# ---------------------------------------------------------------------------------------------
# 2. BBP for the k-GMM class blocks at t = 0


@dataclasses.dataclass(frozen=True)
class BbpPrediction:
    sigma2: float              # noise variance w / lambda, w = (k - 1) / k^2
    gamma: float               # d / M
    thetas: tuple              # spike strengths, descending
    edge: float                # sigma^2 (1 + sqrt(gamma))^2
    threshold_theta: float     # sqrt(gamma): spikes above it give outliers
    outliers: tuple            # sigma^2 (1 + theta)(1 + gamma / theta) for theta > sqrt(gamma)
    overlaps: tuple            # per spike (1 - gamma/theta^2) / (1 + gamma/theta), 0 below
    overlap_with_means: float  # mean of `overlaps` (r = k)


def kgmm_spikes(params):
    """theta_i = lambda * eig_i(P^(1/2) G P^(1/2)), descending."""
    import numpy

    k = params.units
    root_p = numpy.sqrt(numpy.asarray(params.class_probs, dtype=float))
    gram = numpy.asarray(params.mean_gram, dtype=float).reshape(k, k)
    spikes = numpy.linalg.eigvalsh(root_p[:, None] * gram * root_p[None, :])
    return tuple(float(params.snr * s) for s in sorted(spikes, reverse=True))


def bbp_class_block(params):
    """The t = 0 prediction for the k-GMM Hessian class blocks (see 2. above); None for another
    task."""
    if params is None or params.task != "kgmm":
        return None
    k = params.units
    sigma2 = (k - 1) / (k * k) / params.snr
    gamma = params.dim / params.test_size
    thetas = kgmm_spikes(params)
    critical = math.sqrt(gamma)
    outliers = tuple(sigma2 * (1 + t) * (1 + gamma / t) for t in thetas if t > critical)
    overlaps = tuple((1 - gamma / t ** 2) / (1 + gamma / t) if t > critical else 0.0
                     for t in thetas)
    return BbpPrediction(sigma2=sigma2, gamma=gamma, thetas=thetas,
                         edge=sigma2 * (1 + critical) ** 2, threshold_theta=critical,
                         outliers=outliers, overlaps=overlaps,
                         overlap_with_means=sum(overlaps) / len(overlaps))


def marchenko_pastur_density(x, s2, gamma):
    """The continuous part of the Marchenko-Pastur law with variance s2 and ratio gamma = d / M
    at the points x (see 2b. above): sqrt((b - x)(x - a)) / (2 pi s2 gamma x) on [a, b], 0
    outside. Integrates to min(1, 1/gamma); the atom at 0 (gamma > 1) is
    `marchenko_pastur_atom`."""
    import numpy

    x = numpy.asarray(x, dtype=float)
    a, b = marchenko_pastur_support(s2, gamma)
    inside = (x > a) & (x < b) & (x > 0)
    out = numpy.zeros_like(x)
    xi = x[inside]
    out[inside] = numpy.sqrt((b - xi) * (xi - a)) / (2.0 * math.pi * s2 * gamma * xi)
    return out


def marchenko_pastur_support(s2, gamma):
    """(a, b) = (s2 (1 - sqrt(gamma))^2, s2 (1 + sqrt(gamma))^2), the continuous part's support."""
    root = math.sqrt(gamma)
    return (s2 * (1.0 - root) ** 2, s2 * (1.0 + root) ** 2)


def marchenko_pastur_atom(gamma):
    """Mass of the Marchenko-Pastur law at 0: 1 - 1/gamma for gamma > 1, else 0."""
    return max(0.0, 1.0 - 1.0 / gamma)


# ---------------------------------------------------------------------------------------------
# 3. and 4. Sweeps


def xor_success_prediction(params):
    """3/32 for an XOR task with K = 4 hidden neurons (SCIENCE.md Task B, X1); else None."""
    if params is not None and params.task == "xor" and params.units == XOR_SUCCESS_HIDDEN:
        return XOR_SUCCESS_FRACTION
    return None


def wilson_interval(successes, trials, z=WILSON_Z):
    """(low, high) of the Wilson score interval, as aggregates.csv has it (see 4. above)."""
    if trials <= 0:
        return (0.0, 1.0)
    n = float(trials)
    p = successes / n
    z2 = z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n)
    # At s = 0 (s = n) the low (high) end is exactly 0 (1); rounding would leave ~1e-17.
    low = 0.0 if successes <= 0 else max(0.0, centre - half)
    high = 1.0 if successes >= trials else min(1.0, centre + half)
    return (low, high)
