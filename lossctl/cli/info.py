"""`lossctl list` and `lossctl explain`."""

from __future__ import annotations

from typing import Annotated

import typer

from ..losses import get_loss
from .app import _stdout, app


@app.command("list")
def list_losses() -> None:
    """List the losses lossctl knows, their aliases and expected inputs.

    Example: lossctl list
    """
    from ..render_info import loss_list

    _stdout().print(loss_list(), crop=False)


@app.command("explain")
def explain(
    loss: Annotated[str, typer.Argument(metavar="LOSS", help="A loss name or alias, e.g. mse.", show_default=False)],
) -> None:
    """Explain a loss: its formula, every convention's divisor n, who uses which, and pitfalls.

    Example: lossctl explain mse
    """
    from ..render_info import explanation

    _stdout().print(explanation(get_loss(loss)), crop=False)
