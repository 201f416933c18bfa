"""The Python API: files in, a Report out. Pure: no printing, no exiting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from .compute import PerSampleSink, Report, accumulate, finish
from .errors import UsageError
from .io import DEFAULT_CHUNK_ROWS, Source, open_source, read_chunks
from .io.columns import select, split
from .losses import Loss, Params, get_loss


def evaluate(
    loss: str | Loss,
    predictions: str,
    labels: str | Source | None,
    weights: str | None = None,
    *,
    params: Params | None = None,
    conventions: Sequence[str] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    nan: str = "error",
    keep_per_sample: bool = True,
    pred_cols: str | None = None,
    label_cols: str | None = None,
    per_sample_sink: PerSampleSink | None = None,
    summarize: bool = False,
    observers: Sequence = (),
) -> Report:
    """Read ``predictions``, ``labels`` (and ``weights``) and compute ``loss`` under every convention.

    Inputs are paths (``.csv .tsv .txt .npy .npz[:key] .parquet .safetensors[:name]
    .arrow .feather .jsonl .h5[:dataset]``), a quoted glob or ``@list.txt`` of such
    files read as one array, or ``-`` for CSV on standard input; ``labels`` may also be an opened
    :class:`~lossctl.io.Source`, so labels shared by many checks are read once.
    Warnings for the user (e.g. labels read as class indices) are returned in
    ``Report.notes``. ``pred_cols``/``label_cols`` select columns (see
    :mod:`lossctl.io.columns`); with ``labels=None`` both come from the
    predictions file, the predictions being every column not in ``label_cols``
    unless ``pred_cols`` says otherwise. ``per_sample_sink`` and ``summarize`` are
    :func:`~lossctl.compute.compute`'s (stream per-sample values; summarize vectors).

    >>> r = evaluate("mse", "sample_data/preds.csv", "sample_data/labels.csv")
    >>> round(r.convention("mean").value, 12), round(r.convention("batch_mean").value, 12)
    (0.0235, 0.235)
    """
    inputs = open_inputs(loss, predictions, labels, weights, pred_cols=pred_cols, label_cols=label_cols)
    reader = inputs.reader(chunk_rows=chunk_rows, nan=nan, ignore_index=params.ignore_index if params else None)
    state = accumulate(
        inputs.loss,
        reader,
        params,
        conventions=conventions,
        keep_per_sample=keep_per_sample,
        names=inputs.names,
        per_sample_sink=per_sample_sink,
        summarize=summarize,
        observers=observers,
    )
    return inputs.report(state, reader.dropped)


@dataclass
class Inputs:
    """The opened inputs of one evaluation: the loss (class-index variant when the labels say so),
    the Sources, the names for messages and the notes so far."""

    loss: Loss
    predictions: Source
    labels: Source
    weights: Source | None
    notes: list[str]

    @property
    def names(self) -> dict[str, str]:
        names = {"predictions": self.predictions.name, "labels": self.labels.name}
        if self.weights is not None:
            names["weights"] = self.weights.name
        return names

    def reader(
        self,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        nan: str = "error",
        rows: tuple[int, int] | None = None,
        ignore_index: int | None = None,
    ):
        """Aligned chunks of every row, or of the global rows [start, stop) of ``rows`` (a worker's share)."""
        sources = [self.predictions, self.labels, self.weights]
        if rows is not None:
            sources = [s.slice(*rows) if s is not None else None for s in sources]
        return read_chunks(
            *sources, indices=self.loss.labels == "indices", chunk_rows=chunk_rows, nan=nan,
            first_row=rows[0] if rows else 0, ignore_index=ignore_index,
        )  # fmt: skip

    def report(self, state, dropped: int) -> Report:
        """The Report of a (merged) :func:`~lossctl.compute.accumulate` state over these inputs."""
        report = finish(state, dtype=self.predictions.dtype, dropped=dropped, notes=self.notes)
        files = tuple(s.files for s in (self.predictions, self.labels, self.weights) if s is not None)
        notes_out = report.notes
        if dropped:
            notes_out = (*notes_out, f"dropped {dropped} samples with NaN (--nan omit)")
        return replace(report, dropped=dropped, notes=notes_out, files=files)


def open_inputs(
    loss: str | Loss,
    predictions: str,
    labels: str | Source | None,
    weights: str | None = None,
    *,
    pred_cols: str | None = None,
    label_cols: str | None = None,
) -> Inputs:
    """Open the inputs of :func:`evaluate` (headers only: no rows are read)."""
    spec = get_loss(loss) if isinstance(loss, str) else loss
    if predictions == "-" and labels == "-":
        raise UsageError("only one of PREDICTIONS and LABELS can be - (standard input)")
    if labels is None and label_cols is None:
        raise UsageError(
            "give LABELS, or read the labels from the predictions file with --label-cols "
            "(e.g. lossctl mse results.csv --pred-cols 'p*' --label-cols 'y*')"
        )
    pred_src = open_source(predictions)
    if labels is None:
        pred_src, label_src = split(pred_src, pred_cols, label_cols)
    else:
        label_src = labels if isinstance(labels, Source) else open_source(labels)  # a Source: read once, reused
        pred_src = select(pred_src, pred_cols, "--pred-cols")
        label_src = select(label_src, label_cols, "--label-cols")
    weight_src = open_source(weights) if weights else None
    notes: list[str] = []
    if spec.index_labels and label_src.columns() == 1 and pred_src.columns() > 1:
        notes.append(f"{label_src.name} has one column: read as class indices ({spec.index_labels})")
        spec = get_loss(spec.index_labels)
    return Inputs(spec, pred_src, label_src, weight_src, notes)


#: the parts of a Report that :func:`to_frame` returns as a table
FRAME_PARTS = ("conventions", "frameworks", "per_sample", "per_output")


def to_frame(report: Report, part: str = "conventions"):
    """A part of ``report`` as a pandas DataFrame, for notebooks (pandas is imported only here).

    ``conventions``: one row per scalar convention, indexed by name (divisor, n, value, note;
    an undefined value is NaN); ``frameworks``: one row per framework entry (framework, api,
    call, value, convention, note); ``per_sample``: one ``loss`` per sample, indexed by row
    counted from 1; ``per_output``: one ``loss`` per output column, indexed from 0 like --pred-cols.

    >>> r = evaluate("mse", "sample_data/preds.csv", "sample_data/labels.csv")
    >>> frame = to_frame(r)
    >>> frame.loc["batch_mean", "divisor"], int(frame.loc["batch_mean", "n"]), float(round(frame.loc["batch_mean", "value"], 12))
    ('N', 2, 0.235)
    """
    import numpy as np
    import pandas as pd

    if part in ("per_sample", "per_output"):
        values = report.convention(part).value
        index = pd.RangeIndex(1, len(values) + 1, name="row") if part == "per_sample" else None
        frame = pd.DataFrame({"loss": np.asarray(values, dtype=np.float64)}, index=index)
        frame.index.name = frame.index.name or "output"
        return frame
    if part == "frameworks":
        rows = [
            {
                "framework": r.framework,
                "api": r.api,
                "call": r.call,
                "value": r.value,
                "convention": r.convention,
                "note": r.note,
            }
            for r in report.frameworks
        ]
        return pd.DataFrame(rows, columns=["framework", "api", "call", "value", "convention", "note"])
    if part != "conventions":
        raise UsageError(f"unknown part {part!r}; choose one of: {', '.join(FRAME_PARTS)}")
    rows = [
        {
            "convention": c.name,
            "divisor": c.divisor,
            "n": c.n,
            "value": np.nan if c.value is None else c.value,
            "note": c.note,
        }
        for c in report.conventions
        if c.divisor is not None
    ]
    return pd.DataFrame(rows, columns=["convention", "divisor", "n", "value", "note"]).set_index("convention")
