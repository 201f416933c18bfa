"""lossctl: every averaging convention of a loss, side by side, and what each framework reports."""

from ._version import __version__
from .api import evaluate, to_frame
from .compute import Report, compute
from .io import read_array
from .losses import LOSSES, Params, get_loss

__all__ = ["LOSSES", "Params", "Report", "__version__", "compute", "evaluate", "get_loss", "read_array", "to_frame"]
