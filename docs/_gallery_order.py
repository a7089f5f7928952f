"""Order of the gallery's examples: the flagship first, then by topic.

``docs/conf.py`` names :class:`ExampleOrder` in sphinx-gallery's
``within_subsection_order``. An example missing from ``ORDER`` goes last, in
file-name order.
"""

ORDER = [
    "plot_inverse_sine.py",  # what an MDN is for: several answers per input
    "plot_heteroscedastic.py",  # intervals that follow the noise
    "plot_calibration.py",  # are the probabilities right?
    "plot_compare_regressors.py",  # against a point regressor and a GP
    "plot_grid_search.py",  # tuning on log-likelihood
    "plot_early_stopping.py",  # training curves
    "plot_multi_output.py",  # several targets
    "plot_correlated_targets.py",  # full covariances
]


class ExampleOrder:
    """Sort key for sphinx-gallery: the position of a file in ``ORDER``.

    Parameters
    ----------
    src_dir : str or pathlib.Path
        The gallery's source folder (unused; sphinx-gallery passes it).
    """

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        """Return the sort key of ``filename``.

        Parameters
        ----------
        filename : str
            Name of an example file.

        Returns
        -------
        tuple of (int, str)
            Its position in ``ORDER`` (unlisted files last), then its name.
        """
        position = ORDER.index(filename) if filename in ORDER else len(ORDER)
        return position, filename

    def __repr__(self):
        return f"<{type(self).__name__}>"
