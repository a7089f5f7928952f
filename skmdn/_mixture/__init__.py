"""The numpy mixture maths: one module per concern.

The only numpy source of Gaussian-mixture maths in skmdn: the distribution,
the estimator's prediction path, the metrics and the plots call it. Its
import imports no torch; it calls torch for one thing, the vectorised
``erfc`` behind the normal cdf (:mod:`~skmdn._mixture.component`: 1.3 ns an
element against 14.7 for scipy's ``ndtr``, as accurate), on numpy buffers.
A mixture is given by ``weights`` (..., K), ``means`` (..., K, D) and its
components' covariances ``cov`` in one of two forms, told apart by
their number of axes: standard deviations ``scales`` (..., K, D) (diagonal
covariances; spherical ones are diagonal with equal scales), or lower
Cholesky factors ``tril`` (..., K, D, D) with a positive diagonal (full
covariances, ``Sigma = tril @ tril.T``). Per-target (marginal) functions take
``scales``, which for a full covariance are the row norms of ``tril``.
The one-dimensional solvers take ``P``
independent problems at once, each a mixture given by rows of ``w``, ``mu``
and ``s`` of shape (P, K).
"""
