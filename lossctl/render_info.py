"""``lossctl list`` and ``lossctl explain`` as Rich renderables. Returns; never prints.

Like the loss table, these never split an API name, an alias or a call inside an
identifier: such text is :class:`~lossctl.layout.Wrapped` (breaks only after a
space, a comma or ``|``), and a layout that would need a narrower column gives
way to one that lists the names on their own lines.
"""

from __future__ import annotations

from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text

from .layout import FirstFit, Wrapped

_INPUTS_MIN = 24  # below this the inputs column reads badly: fall back to one block per loss


def loss_list() -> FirstFit:
    """``lossctl list``: every registered loss, its aliases, primary convention and expected inputs."""
    from .losses import LOSSES

    head = Text(f"{len(LOSSES)} losses; 'lossctl explain LOSS' gives the formula, conventions and pitfalls")
    t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
    t.add_column("loss (aliases)")
    t.add_column("primary", no_wrap=True)
    t.add_column("inputs", min_width=_INPUTS_MIN)
    blocks: list = []
    for loss in LOSSES.values():
        name = (
            Group(Text(loss.name, style="bold"), Wrapped(", ".join(loss.aliases), style="dim"))
            if loss.aliases
            else Text(loss.name, style="bold")
        )
        t.add_row(name, loss.primary, Wrapped(loss.expects))
        blocks += [Text.assemble((loss.name, "bold"), f"  (primary: {loss.primary})")]
        if loss.aliases:
            blocks.append(Wrapped(", ".join(loss.aliases), "  also: ", "        ", style="dim"))
        blocks.append(Wrapped(loss.expects, "  inputs: ", "    "))
    return FirstFit(Group(head, Text(""), t), Group(head, Text(""), *blocks))


def _head(loss) -> Group:
    title = Text(loss.name, style="bold")
    if loss.aliases:
        title.append(f"  (also: {', '.join(loss.aliases)})", style="dim")
    parts = [Wrapped(title.plain), Wrapped(loss.summary), Text("")]
    parts += [Wrapped(line, rest="    ") for line in loss.formula.splitlines()]
    parts += [Text(""), Wrapped(f"Inputs: {loss.expects}.", rest="  "), Text("")]
    if loss.kind == "element":
        inner = "mean" if loss.inner == "mean" else "sum"
        parts.append(
            Wrapped(
                f"The loss is a sum of element terms e[i,k] over N samples (rows) and K outputs (columns). "
                f"Each sample's own loss l_i is the {inner} of its K terms; frameworks report the mean of l_i "
                f"over samples ('{loss.primary}')."
            )
        )
    else:
        parts.append(
            Wrapped("The loss exists only per sample (l_i), so its conventions divide the sum of l_i by N or by 1.")
        )
    return Group(*parts)


def _conventions(loss) -> FirstFit:
    from .conventions import applicable

    rows = []
    for c in applicable(loss.kind, loss.squared, weighted=True, class_weighted=loss.class_weighted):
        # for this loss: the APIs that report this convention by default; else where it is met elsewhere
        apis = list(dict.fromkeys(fw.api for fw in loss.frameworks if fw.convention == c.name))
        users = ", ".join(apis) if apis else f"elsewhere: {c.users}"
        rows.append((c.name + (" *" if c.name == loss.primary else ""), c.divisor or "vector", c.meaning, users))

    def table(with_users: bool) -> Table:
        t = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        t.add_column("convention", style="bold", no_wrap=True)
        t.add_column("n", no_wrap=True)
        t.add_column("meaning", min_width=20)
        if with_users:
            t.add_column("used by", min_width=30)
        for name, n, meaning, users in rows:
            t.add_row(name, n, Wrapped(meaning), *([Wrapped(users)] if with_users else []))
        return t

    title = Text("conventions: which n divides the sum", style="bold")
    used = [Wrapped(f"{name}: {users}", "  ", "      ") for name, _, _, users in rows]
    return FirstFit(Group(title, table(True)), Group(title, table(False), Text("used by:"), *used))


def _frameworks(loss) -> FirstFit:
    title = Text("what the frameworks report by default", style="bold")
    g = Table.grid(padding=(0, 2))
    g.add_column(style="bold", no_wrap=True)
    g.add_column(no_wrap=True)
    g.add_column()
    blocks: list = []
    for fw in loss.frameworks:
        api = Group(Wrapped(fw.api), Wrapped(fw.note, "# ", "# ", style="dim")) if fw.note else Wrapped(fw.api)
        g.add_row(fw.framework, f"= {fw.convention or '—'}", api)
        blocks += [Text.assemble((fw.framework, "bold"), f" = {fw.convention or '—'}"), Wrapped(fw.api, "  ", "      ")]
        if fw.note:
            blocks.append(Wrapped(fw.note, "  # ", "  # ", style="dim"))
    return FirstFit(Group(title, g), Group(title, *blocks))


def _options(loss) -> Group:
    """Each option the loss takes: the flag, what it is, and what it changes here (terms, divisor, frameworks)."""
    parts: list = [Text("Options that change the number:", style="bold")]
    for option in loss.options:
        flag = option.flag + (f" {option.metavar}" if option.metavar else "")
        parts.append(Wrapped(f"{flag}: {option.help}", "  ", "    "))
        doc = dict(loss.option_docs).get(option.name)
        if doc:
            parts.append(Wrapped(doc, "    ", "    ", style="dim"))
    return Group(*parts)


def explanation(loss) -> Group:
    """``lossctl explain LOSS``: formula, each convention's n and users, frameworks, and pitfalls."""
    parts: list = [_head(loss), Text(""), _conventions(loss)]
    if loss.frameworks:
        parts += [Text(""), _frameworks(loss)]
    if loss.options:
        parts += [Text(""), _options(loss)]
    from .intervals import EXPLAIN  # the statistics of --ci and --batch-size

    for heading, bullets in EXPLAIN:
        parts += [Text(""), Wrapped(heading, style="bold"), *(Wrapped(b, "  • ", "    ") for b in bullets)]
    if loss.pitfalls:
        parts += [Text(""), Text("Pitfalls:", style="bold")]
        parts += [Wrapped(p, "  • ", "    ") for p in loss.pitfalls]
    parts += [
        Text(""),
        Wrapped("* primary convention, gated by --max/--min. Weighted conventions appear with --weights."),
    ]
    return Group(*parts)
