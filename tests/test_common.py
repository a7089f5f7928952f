"""scikit-learn's estimator checks, on several configurations."""

import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from skmdn import MDNRegressor

# The checks fit with max_iter=50 on tiny data; ConvergenceWarning is expected.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


class DropoutTrunk(torch.nn.Module):
    """A user's trunk: a tanh layer, dropout and layer norm."""

    def __init__(self, n_features, width=8, dropout=0.1):
        super().__init__()
        self.layers = torch.nn.Sequential(
            torch.nn.Linear(n_features, width),
            torch.nn.Tanh(),
            torch.nn.Dropout(dropout),
            torch.nn.LayerNorm(width),
        )

    def forward(self, x):
        return self.layers(x)


ESTIMATORS = [
    # the defaults: early stopping and noise regularisation on
    MDNRegressor(max_iter=50, random_state=0),
    # early stopping without noise: sample weights must act as repeated rows
    MDNRegressor(
        n_components=2,
        validation_fraction=0.2,
        input_noise=0.0,
        target_noise=0.0,
        max_iter=50,
        random_state=0,
    ),
    MDNRegressor(
        n_components=1,
        hidden_layer_sizes=(32,),
        activation="relu",
        learning_rate_init=1e-2,
        early_stopping=False,
        input_noise=0.0,
        target_noise=0.0,
        max_iter=50,
        random_state=0,
    ),
    # full covariances (Cholesky factors): the multi-output checks reach them
    MDNRegressor(
        n_components=2,
        covariance_type="full",
        n_networks=1,
        input_noise=0.0,
        target_noise=0.0,
        max_iter=50,
        random_state=0,
    ),
    # the piecewise-linear encoding of the inputs, without noise: its bins'
    # weighted quantiles must act as repeated rows
    MDNRegressor(
        n_components=2,
        piecewise_linear_bins=4,
        n_networks=2,
        input_noise=0.0,
        target_noise=0.0,
        max_iter=50,
        random_state=0,
    ),
    # a user's torch module behind the head, trained by autograd (without
    # early stopping: on the checks' few rows a network may keep the marginal
    # of y, whose constant density would pass the weight checks vacuously)
    MDNRegressor(
        module=DropoutTrunk,
        module_params={"dropout": 0.1},
        n_components=2,
        n_networks=1,
        early_stopping=False,
        input_noise=0.0,
        target_noise=0.0,
        learning_rate_init=1e-2,
        max_iter=50,
        random_state=0,
    ),
]


def expected_failed_checks(estimator):
    if estimator.module_params and estimator.module_params.get("dropout"):
        # Dropout draws a mask for every row of every batch: a row of weight 2
        # gets one mask where two repeated rows get two, as with the noise.
        reason = "dropout: sample_weight is not equivalent to repeating samples."
        return {
            "check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason,
        }
    if estimator.input_noise != 0 or estimator.target_noise != 0:
        # Noise regularisation draws fresh noise for every row of every batch:
        # a row of weight 2 gets one draw where two repeated rows get two, as
        # in SGDRegressor, which scikit-learn lists with this same reason.
        reason = "sample_weight is not equivalent to removing/repeating samples."
        return {
            "check_sample_weight_equivalence_on_dense_data": reason,
            "check_sample_weight_equivalence_on_sparse_data": reason,
        }
    return {}


@parametrize_with_checks(
    ESTIMATORS, expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)


def test_pandas_installed_so_no_check_is_skipped():
    pytest.importorskip("pandas")
