"""One Gaussian component, and the one-dimensional mixture of them."""

# SPDX-License-Identifier: BSD-3-Clause

import numpy as np

LOG_2PI = np.log(2.0 * np.pi)
_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)
