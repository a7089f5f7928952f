"""scikit-learn's estimator checks, on several configurations."""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmdn import MDNRegressor

# The checks fit with max_iter=50 on tiny data; ConvergenceWarning is expected.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

ESTIMATORS = [
    MDNRegressor(max_iter=50, random_state=0),
    MDNRegressor(
        n_components=2,
        early_stopping=True,
        validation_fraction=0.2,
        max_iter=50,
        random_state=0,
    ),
    MDNRegressor(
        n_components=1,
        hidden_layer_sizes=(32,),
        activation="relu",
        learning_rate_init=1e-2,
        max_iter=50,
        random_state=0,
    ),
]


def expected_failed_checks(estimator):
    # Every check passes on every configuration; keep this empty unless a
    # failure has a reason scikit-learn itself accepts for its own estimators.
    return {}


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_pandas_installed_so_no_check_is_skipped():
    pytest.importorskip("pandas")
