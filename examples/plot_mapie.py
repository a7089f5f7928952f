"""
=====================================================
Conformal intervals with MAPIE, next to skmdn's own
=====================================================

A mixture density network gives prediction intervals directly, from its
predicted distribution. Conformal prediction (here with `MAPIE
<https://mapie.readthedocs.io>`_) instead guarantees the *average* coverage on
exchangeable data, whatever the model, using a calibration set the model did
not see. This example compares, on a problem whose noise grows threefold
along the input:

- skmdn's own equal-tailed 90% intervals;
- MAPIE's split-conformal intervals around the MDN's mean
  (``SplitConformalRegressor``: one width for every input);
- MAPIE's conformalized quantile regression (CQR) on skmdn's quantiles,
  through :func:`skmdn.interop.mapie_quantile_estimators`.

It needs MAPIE (``pip install mapie``, part of skmdn's ``docs`` extras).
"""

# %%
# Data with input-dependent noise, in three splits
# ------------------------------------------------
#
# :func:`~skmdn.datasets.make_heteroscedastic` draws ``y = 2 sin(2 pi x)``
# plus Gaussian noise whose standard deviation rises from 0.5 at ``x = 0`` to
# 1.5 at ``x = 1``. The model is trained on one split, MAPIE calibrates on a
# second, and everything is judged on a large third one.

import matplotlib.pyplot as plt
import numpy as np
from mapie.regression import ConformalizedQuantileRegressor, SplitConformalRegressor

from skmdn import MDNRegressor
from skmdn.datasets import make_heteroscedastic
from skmdn.interop import mapie_quantile_estimators

X_train, y_train = make_heteroscedastic(1000, random_state=0)
X_cal, y_cal = make_heteroscedastic(1000, random_state=1)
X_test, y_test = make_heteroscedastic(6000, random_state=2)

confidence = 0.9
mdn = MDNRegressor(n_components=2, n_networks=1, random_state=0)
mdn.fit(X_train, y_train)

# %%
# Three kinds of 90% intervals from one fitted model
# --------------------------------------------------
#
# MAPIE's conformalized quantile regression accepts only the quantile
# regressors it knows (``ConformalizedQuantileRegressor(MDNRegressor())`` is
# refused), or, with ``prefit=True``, three fitted models of the lower, upper
# and median quantiles. :func:`~skmdn.interop.mapie_quantile_estimators`
# returns those three as views of the one fitted MDN
# (:class:`~skmdn.interop.MDNQuantileRegressor`), so nothing is refitted.

lower, upper = mdn.predict_interval(X_test, confidence)
intervals = {"skmdn": (lower, upper)}

split = SplitConformalRegressor(mdn, confidence_level=confidence, prefit=True)
split.conformalize(X_cal, y_cal)
_, bounds = split.predict_interval(X_test)
intervals["MAPIE split (mean ± c)"] = (bounds[:, 0, 0], bounds[:, 1, 0])

cqr = ConformalizedQuantileRegressor(
    mapie_quantile_estimators(mdn, confidence),
    confidence_level=confidence,
    prefit=True,
)
cqr.conformalize(X_cal, y_cal)
_, bounds = cqr.predict_interval(X_test)
intervals["MAPIE CQR on skmdn"] = (bounds[:, 0, 0], bounds[:, 1, 0])

# %%
# Coverage overall and per noise level
# ------------------------------------
#
# The test points are split into thirds of ``x``: low noise (standard
# deviation 0.5 to 0.83), medium and high (1.17 to 1.5). All three methods
# cover close to 90% overall. Only the intervals that follow the noise also
# cover close to 90% at every noise level: the split-conformal band has one
# width, so it over-covers where the data are calm and under-covers where
# they are noisy. CQR keeps skmdn's input-dependent widths and moves both
# ends by a constant calibrated on held-out data, which buys MAPIE's
# finite-sample guarantee of the overall coverage (at least 90%, so it errs
# on the wide side) for a little width; skmdn's own intervals rest on the
# model being right, and need no calibration set.

levels = np.digitize(X_test[:, 0], [1 / 3, 2 / 3])
names = ["low", "medium", "high"]
print(f"{'method':<24}{'overall':>9}" + "".join(f"{n:>9}" for n in names))
coverage, width = {}, {}
for method, (lo, hi) in intervals.items():
    inside = (lo <= y_test) & (y_test <= hi)
    coverage[method] = [inside[levels == k].mean() for k in range(3)]
    width[method] = [(hi - lo)[levels == k].mean() for k in range(3)]
    row = "".join(f"{c:>9.3f}" for c in coverage[method])
    print(f"{method:<24}{inside.mean():>9.3f}{row}")

print("\nmean width of the intervals per noise level")
for method in intervals:
    print(f"{method:<24}" + "".join(f"{w:>9.2f}" for w in width[method]))

# %%
# The same numbers as a picture: coverage per noise level (left) and the
# width of the intervals along ``x`` (right; the true 90% width is
# ``2 * 1.645 * (0.5 + x)``).

fig, axes = plt.subplots(1, 2, figsize=(11, 4))
ax = axes[0]
offsets = np.linspace(-0.25, 0.25, len(intervals))
for offset, (method, cover) in zip(offsets, coverage.items(), strict=True):
    ax.bar(np.arange(3) + offset, cover, width=0.24, label=method)
ax.axhline(confidence, color="k", ls=":", lw=1, label="nominal")
ax.set(xticks=range(3), xticklabels=names, ylim=(0.7, 1.08))
ax.set(xlabel="noise level", ylabel="coverage of 90% intervals")
ax.legend(loc="upper right", ncols=2, fontsize=8)

ax = axes[1]
order = np.argsort(X_test[:, 0])
x = X_test[order, 0]
for method, (lo, hi) in intervals.items():
    ax.plot(x, (hi - lo)[order], label=method)
ax.plot(x, 2 * 1.6449 * (0.5 + x), "k:", label="true")
ax.set(xlabel="x", ylabel="width of 90% intervals")
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
