"""lossctl: every averaging convention of a loss, side by side, and what each framework reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lossctl")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from .api import evaluate, to_frame  # noqa: E402
from .compute import Report, compute  # noqa: E402
from .io import read_array  # noqa: E402
from .losses import LOSSES, Params, get_loss  # noqa: E402

__all__ = ["LOSSES", "Params", "Report", "__version__", "compute", "evaluate", "get_loss", "read_array", "to_frame"]
