"""Machine formats with the per-sample vector streamed: written as it is computed, never built whole.

:class:`VectorStream` is a per-sample sink (``stream(start, values)``, see
:data:`lossctl.compute.PerSampleSink`): at the first chunk it writes the format's
prefix, then each chunk's values as one formatted string, so memory stays one chunk
and the first rows appear while the rest is still being read. :meth:`VectorStream.finish`
writes what is known only at the end (the scalar conventions, the frameworks, the
signature). Layouts:

* CSV/TSV: the header, the ``per_sample[i]`` rows (i from 1), then the other rows as
  :func:`lossctl.render.to_delimited` writes them;
* plain: the bare values one per line when ``per_sample`` is the only convention, else
  ``per_sample[i] value`` lines then the other ``name value`` lines;
* JSON: ``per_sample`` is the first entry of ``conventions``, with ``value`` (one
  unindented number list, a line per chunk) before ``n``; ``shape`` and ``signature``
  come last. Parsed, it is the same object as the unstreamed JSON.

Pure apart from writing to the stream it is given: never exits.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Collection
from dataclasses import replace
from typing import IO

import numpy as np

from ._version import __version__
from .render import DELIMITED_COLUMNS, delimited, extra_rows, report_dict, to_delimited, to_plain
from .report import Report

#: the vector this module streams
STREAMED = "per_sample"


class VectorStream:
    """Write ``fmt`` (json, csv, tsv or plain) to ``out`` with the per-sample values streamed."""

    def __init__(self, out: IO[str], fmt: str, precision: int | None, *, single: bool) -> None:
        self.out, self.fmt, self.single, self.precision = out, fmt, single, precision
        self.started = False
        number = "{!r}" if precision is None else f"{{:.{precision}g}}"
        d = {"csv": ",", "tsv": "\t"}.get(fmt, "")
        if fmt in ("csv", "tsv"):
            self.line = f"convention{d}{STREAMED}[{{}}]{d}{d}{d}{number}{d}{d}{d}\n"
            self.prefix = delimited([DELIMITED_COLUMNS], d)
        elif fmt == "plain":
            self.line = number + "\n" if single else f"{STREAMED}[{{}}] {number}\n"
            self.prefix = ""
        else:
            self.line = None
            self.prefix = (
                f'{{\n  "lossctl": {json.dumps(__version__)},\n  "conventions": [\n'
                f'    {{"name": "{STREAMED}", "divisor": null, "value": ['
            )
        self.delimiter = d

    def __call__(self, start: int, values: np.ndarray) -> None:
        if not len(values):
            return
        text = self._json(values) if self.line is None else self._lines(start, values)
        if not self.started:
            text, self.started = self.prefix + text, True
        elif self.line is None:
            text = ",\n" + text
        self.out.write(text)
        self.out.flush()  # the first rows reach a pipe (| head) while the rest is computed

    def _lines(self, start: int, values: np.ndarray) -> str:
        if self.fmt == "plain" and self.single:
            return "".join(map(self.line.format, values.tolist()))
        return "".join(map(self.line.format, range(start + 1, start + 1 + len(values)), values.tolist()))

    @staticmethod
    def _json(values: np.ndarray) -> str:
        numbers = values.tolist()
        if np.isfinite(values).all():
            return str(numbers)[1:-1]  # Python's float repr, as json.dumps writes it
        return ", ".join(repr(v) if np.isfinite(v) else "null" for v in numbers)

    def finish(self, report: Report, worst: list[tuple[int, float]] | None, full: Collection[str]) -> None:
        """Write everything after the streamed values (the prefix too, if no chunk came)."""
        if not self.started:
            self.out.write(self.prefix)
            self.started = True
        # the streamed values are written: the rest of the output must not repeat them (--worst keeps them)
        report = replace(
            report, conventions=tuple(replace(c, value=None) if c.name == STREAMED else c for c in report.conventions)
        )
        if self.fmt in ("csv", "tsv"):
            body = to_delimited(report, self.delimiter, self.precision, full).split("\n", 1)[1]
            self.out.write(body + delimited(extra_rows(report, worst, self.precision), self.delimiter))
        elif self.fmt == "plain":
            self.out.write(self._plain_tail(report, worst, full))
        else:
            self.out.write(self._json_tail(report_dict(report, worst, full)))
        self.out.flush()

    def _plain_tail(self, report: Report, worst, full: Collection[str]) -> str:
        from .render import fmt as number

        precision = self.precision
        text = to_plain(report, precision, full) if not self.single else ""
        num = (lambda v: repr(float(v))) if precision is None else (lambda v: number(v, precision))
        text += "".join(f"worst {row} {num(value)}\n" for row, value in worst or [])
        if not self.single:
            text += f"signature {report.signature}\n"
        return text

    @staticmethod
    def _json_tail(d: dict) -> str:
        entries = d.pop("conventions")
        at = next(i for i, e in enumerate(entries) if e["name"] == STREAMED)
        streamed = entries.pop(at)
        parts = ["]"] + [
            f",\n     {json.dumps(k)}: {_dumps(v)}" for k, v in streamed.items() if k not in ("name", "divisor")
        ]
        parts.append("}")
        parts += [",\n" + textwrap.indent(_dumps(e, indent=2), "    ") for e in entries]
        parts.append("\n  ]")
        d.pop("lossctl", None)
        last = {k: d.pop(k) for k in ("shape", "signature") if k in d}
        for k, v in {**d, **last}.items():
            parts.append(f",\n  {json.dumps(k)}: " + textwrap.indent(_dumps(v, indent=2), "  ")[2:])
        parts.append("\n}\n")
        return "".join(parts)


def _dumps(value, indent: int | None = None) -> str:
    return json.dumps(value, indent=indent, allow_nan=False, ensure_ascii=False)
