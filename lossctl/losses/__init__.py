"""Every loss lossctl knows, one registered function each.

Importing this package registers them all; see :mod:`._registry` for the
contract a loss function follows.
"""

from . import regression, classification  # noqa: E402,F401,I001  (registers the losses, in this order)
from ._registry import LOSSES, Batch, DomainError, Loss, Params, check_domain, get_loss, register

__all__ = ["LOSSES", "Batch", "DomainError", "Loss", "Params", "check_domain", "get_loss", "register"]
