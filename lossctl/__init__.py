"""lossctl: every averaging convention of a loss, side by side, and what each framework reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lossctl")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

from .losses import LOSSES, get_loss  # noqa: E402

__all__ = ["LOSSES", "__version__", "get_loss"]
