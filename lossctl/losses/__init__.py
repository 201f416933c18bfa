"""Every loss lossctl knows, one registered function each, grouped by family.

Each family module holds its losses' term functions, framework facts and
notes together; :mod:`._numerics` holds the numerics they share and
:mod:`._registry` the contract a loss function follows. Importing this package
registers them all.
"""

from . import squared, absolute, robust, counts, similarity, cross_entropy, binary_cross_entropy, divergence, margin  # noqa: F401,I001,E501
from ..chunk import Chunk
from ..params import Option, Params
from ._registry import LOSSES, DomainError, Loss, check_domain, get_loss, register

#: the order ``lossctl list`` and ``lossctl --help`` show; a loss not named here follows, in registration order
LISTED = (
    "mse", "rmse", "mae", "mape", "msle", "huber", "logcosh", "poisson", "cosine",
    "cce", "sparse-cce", "bce", "kld", "hinge", "squared-hinge", "categorical-hinge",
)  # fmt: skip
for _name in sorted(LOSSES, key=lambda n: LISTED.index(n) if n in LISTED else len(LISTED)):
    LOSSES[_name] = LOSSES.pop(_name)

__all__ = ["LOSSES", "Chunk", "DomainError", "Loss", "Option", "Params", "check_domain", "get_loss", "register"]
