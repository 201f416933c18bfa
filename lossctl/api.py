"""The Python API: files in, a Report out. Pure: no printing, no exiting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from .compute import Report, compute
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
    unless ``pred_cols`` says otherwise.

    >>> r = evaluate("mse", "sample_data/preds.csv", "sample_data/labels.csv")
    >>> round(r.convention("mean").value, 12), round(r.convention("batch_mean").value, 12)
    (0.0235, 0.235)
    """
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
    reader = read_chunks(
        pred_src, label_src, weight_src, indices=spec.labels == "indices", chunk_rows=chunk_rows, nan=nan
    )
    names = {"predictions": pred_src.name, "labels": label_src.name}
    if weight_src is not None:
        names["weights"] = weight_src.name
    report = compute(
        spec,
        reader,
        params,
        conventions=conventions,
        keep_per_sample=keep_per_sample,
        names=names,
        dtype=pred_src.dtype,
        notes=notes,
        observers=observers,
    )
    files = tuple(s.files for s in (pred_src, label_src, weight_src) if s is not None)
    notes_out = report.notes
    if reader.dropped:
        notes_out = (*notes_out, f"dropped {reader.dropped} samples with NaN (--nan omit)")
    report = replace(report, dropped=reader.dropped, notes=notes_out, files=files)
    return report


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
