"""Every loss lossctl knows, one registered function each.

Importing this package registers them all; see :mod:`._registry` for the
contract a loss function follows.
"""

from . import regression, classification  # noqa: E402,F401,I001  (registers the losses, in this order)
from ..chunk import Chunk
from ..params import Option, Params
from ._registry import LOSSES, DomainError, Loss, check_domain, get_loss, register

__all__ = ["LOSSES", "Chunk", "DomainError", "Loss", "Option", "Params", "check_domain", "get_loss", "register"]
