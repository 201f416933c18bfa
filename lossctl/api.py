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
) -> Report:
    """Read ``predictions``, ``labels`` (and ``weights``) and compute ``loss`` under every convention.

    Inputs are paths (``.csv .tsv .txt .npy .npz[:key] .parquet``) or ``-`` for
    CSV on standard input; ``labels`` may also be an opened
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
    )
    if reader.dropped:
        note = f"dropped {reader.dropped} samples with NaN (--nan omit)"
        report = replace(report, dropped=reader.dropped, notes=(*report.notes, note))
    return report
