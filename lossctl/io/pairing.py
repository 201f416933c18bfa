"""Reading predictions, labels and weights side by side, in aligned chunks.

Reading and checking the next chunk runs in a background thread while the
caller computes on the current one (numpy and file reads release the GIL), so
on two cores I/O and arithmetic overlap; at most two chunks wait in between.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

import numpy as np

from ..chunk import Chunk
from ..errors import InputError
from .source import DEFAULT_CHUNK_ROWS, Source, rows_per_chunk


def rechunk(chunks: Iterator[np.ndarray], rows: int) -> Iterator[np.ndarray]:
    """Re-slice a stream of row chunks into chunks of exactly ``rows`` rows (the last may be short)."""
    buffer: list[np.ndarray] = []
    held = 0
    for chunk in chunks:
        while len(chunk):
            take = min(rows - held, len(chunk))
            buffer.append(chunk[:take])
            held += take
            chunk = chunk[take:]
            if held == rows:
                yield buffer[0] if len(buffer) == 1 else np.concatenate(buffer)
                buffer, held = [], 0
    if held:
        yield buffer[0] if len(buffer) == 1 else np.concatenate(buffer)


#: dtypes whose every value is exactly a float32, so Keras's cast to float32 changes nothing
FLOAT32_EXACT = frozenset({"float32", "float16", "bool", "int8", "uint8", "int16", "uint16"})

_DONE = object()


def prefetch(make: Callable[[], Iterator], depth: int = 2) -> Iterator:
    """Iterate over ``make()`` in a background thread, ``depth`` items ahead of the caller.

    Exceptions raised while producing are re-raised here, in order, after the
    items produced before them; closing this iterator early stops the producer.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in make():
                if not put((item, None)):
                    return
        except BaseException as e:  # handed to the consumer, which re-raises it
            put((_DONE, e))
            return
        put((_DONE, None))

    worker = threading.Thread(target=produce, name="lossctl-reader", daemon=True)
    worker.start()
    try:
        while True:
            item, error = slots.get()
            if item is _DONE:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()


def _first_bad(mask: np.ndarray) -> tuple[int, int]:
    flat = int(np.flatnonzero(mask)[0])
    return divmod(flat, mask.shape[1]) if mask.ndim == 2 else (flat, 0)


#: the largest magnitude below which every integer is exactly a float64
EXACT_LIMIT = 2**53


def _shown_integer(value) -> str:
    """An integer-valued number as the file holds it: ``9223372036854775808``, not ``9.22337e+18``."""
    if isinstance(value, np.floating) and abs(float(value)) > EXACT_LIMIT:
        return f"{int(value)} (as float64 reads it)"  # a text cell beyond 2**53 may have been rounded
    return str(int(value))


def _check_exact(a: np.ndarray, name: str, start: int) -> None:
    """Refuse 64-bit integers that float64 (lossctl's arithmetic) would round: never a silent wrong number."""
    if a.dtype.kind not in "iu" or a.dtype.itemsize < 8 or not a.size:
        return
    bad = a > EXACT_LIMIT if a.dtype.kind == "u" else (a > EXACT_LIMIT) | (a < -EXACT_LIMIT)
    if bad.any():
        row, col = _first_bad(bad)
        value = a[row, col] if a.ndim == 2 else a[row]
        where = f"row {start + row + 1}" + (f" column {col + 1}" if a.ndim == 2 else "")
        raise InputError(
            f"{name} {where} holds the integer {int(value)}; integers beyond ±2**53 ({EXACT_LIMIT}) cannot be "
            "represented exactly in float64, which lossctl computes in: subtract an offset or rescale them first "
            "(or save them as float64 if that rounding is acceptable)"
        )


class ChunkReader:
    """Iterate over aligned :class:`~lossctl.chunk.Chunk` s; ``dropped`` counts rows removed by ``nan="omit"``."""

    def __init__(
        self,
        predictions: Source,
        labels: Source,
        weights: Source | None = None,
        *,
        indices: bool = False,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        nan: str = "error",
        first_row: int = 0,
        ignore_index: int | None = None,
    ) -> None:
        if nan not in ("error", "omit"):
            raise InputError(f"--nan must be 'error' or 'omit', not {nan!r}")
        self.predictions, self.labels, self.weights = predictions, labels, weights
        widest = max(s.width or 1 for s in (predictions, labels, weights) if s is not None)
        # wide rows make chunks of fewer rows, so a chunk's memory stays bounded (CHUNK_BYTES)
        self.indices, self.chunk_rows, self.nan = indices, rows_per_chunk(chunk_rows, widest), nan
        self.ignore_index = ignore_index  # the one label allowed outside [0, K) (--ignore-index)
        self.dropped = 0
        self.first_row = first_row  # the global row of the first row read (a worker's row range)
        self._dtype = self.framework_dtype

    @property
    def dtype(self) -> str:
        return self.predictions.dtype

    @property
    def framework_dtype(self) -> str:
        """The dtype the frameworks compute in: float32 when every float input is float32 in its file.

        Class indices do not count (they stay integers); any other mix is promoted to float64 by
        NumPy, scikit-learn and PyTorch alike, so it is float64.
        """
        sources = [self.predictions, self.weights] + ([] if self.indices else [self.labels])
        return "float32" if all(s.dtype == "float32" for s in sources if s is not None) else "float64"

    @property
    def float32_exact(self) -> bool:
        """Whether every value read is exactly a float32 (class indices are never cast)."""
        sources = [self.predictions, self.weights] + ([] if self.indices else [self.labels])
        return all(s.dtype in FLOAT32_EXACT for s in sources if s is not None)

    def _streams(self) -> list[Iterator[np.ndarray]]:
        sources = [self.predictions, self.labels] + ([self.weights] if self.weights else [])
        # each input is read (and parsed: pyarrow and numpy release the GIL) on its own thread,
        # so predictions and labels are parsed concurrently on two cores
        return [prefetch(lambda s=s: rechunk(s.chunks(self.chunk_rows), self.chunk_rows)) for s in sources]

    def _mismatch(self, counts: list[int], streams: list[Iterator[np.ndarray]]) -> InputError:
        for i, stream in enumerate(streams):
            counts[i] += sum(len(c) for c in stream)
        p, lab = counts[0], counts[1]
        if p != lab:
            return InputError(
                f"{self.predictions.name} has {p} rows but {self.labels.name} has {lab} (rows are samples)"
            )
        return InputError(
            f"{self.weights.name} has {counts[2]} weights but {self.predictions.name} has {p} rows; "
            "give one weight per sample"
        )

    def __iter__(self) -> Iterator[Chunk]:
        return prefetch(self._read)

    def _read(self) -> Iterator[Chunk]:
        streams = self._streams()
        counts = [0] * len(streams)
        start = self.first_row
        while True:
            parts = [next(s, None) for s in streams]
            if all(p is None for p in parts):
                return
            if any(p is None for p in parts) or len({len(p) for p in parts}) != 1:
                for i, part in enumerate(parts):
                    counts[i] += 0 if part is None else len(part)
                raise self._mismatch(counts, streams)
            for i, part in enumerate(parts):
                counts[i] += len(part)
            chunk = self._chunk(parts, start)
            start += len(parts[0])
            if chunk is not None:
                yield chunk

    def _chunk(self, parts: list[np.ndarray], start: int) -> Chunk | None:
        y_pred = self._floats(parts[0], self.predictions.name, start)
        k = y_pred.shape[1]
        label_nan = None
        dropped_rows = False
        if self.indices:
            raw = parts[1]
            if self.nan == "omit" and raw.dtype.kind == "f":
                label_nan = np.isnan(raw).any(axis=1)
                raw = np.where(np.isnan(raw), 0, raw)
            y_true = self._indices(raw, k, start)
        else:
            y_true = self._floats(parts[1], self.labels.name, start)
            if y_true.shape[1] != k:
                raise InputError(
                    f"{self.predictions.name} has {k} columns but {self.labels.name} has {y_true.shape[1]}"
                    "; predictions and labels need the same shape (N, K): rows are samples, columns are outputs"
                )
        weights = None
        if self.weights is not None:
            weights = self._weights(parts[2], start)
        if self.nan == "omit":
            keep = ~np.isnan(y_pred).any(axis=1)
            if label_nan is not None:
                keep &= ~label_nan
            elif not self.indices:
                keep &= ~np.isnan(y_true).any(axis=1)
            if weights is not None:
                keep &= ~np.isnan(weights)
            if not keep.all():
                dropped_rows = True
                self.dropped += int((~keep).sum())
                y_pred, y_true = y_pred[keep], y_true[keep]
                weights = weights[keep] if weights is not None else None
                if not len(y_pred):
                    return None
        file_arrays = None
        if self._dtype == "float32" and not dropped_rows:  # the float32 arrays as read, for the frameworks
            file_arrays = (parts[0], y_true if self.indices else parts[1], None if weights is None else parts[2][:, 0])
        for arr, src in ((y_pred, self.predictions), (y_true, self.labels), (weights, self.weights)):
            if arr is not None and arr.dtype.kind == "f":
                self._check_finite(arr, src.name, start)
        return Chunk(y_pred, y_true, weights, start, dtype=self._dtype, file_arrays=file_arrays)

    def _floats(self, a: np.ndarray, name: str, start: int) -> np.ndarray:
        _check_exact(a, name, start)
        return a.astype(np.float64, copy=False)

    def _check_finite(self, a: np.ndarray, name: str, start: int) -> None:
        if not np.isfinite(a).all():
            bad = ~np.isfinite(a)
            row, col = _first_bad(bad)
            value = a[row, col] if a.ndim == 2 else a[row]
            where = f"row {start + row + 1}" + (f" column {col + 1}" if a.ndim == 2 else "")
            hint = " (pass --nan omit to drop such samples)" if np.isnan(value) else ""
            raise InputError(f"{name} {where} is {value}; lossctl needs finite numbers{hint}")

    def _indices(self, a: np.ndarray, k: int, start: int) -> np.ndarray:
        name = self.labels.name
        if a.shape[1] != 1:
            raise InputError(
                f"{name} has {a.shape[1]} columns; class-index labels need one column of integers in [0, {k})"
            )
        col = a[:, 0]
        if col.dtype.kind == "f":
            bad = ~np.isfinite(col) | (col != np.round(col))
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise InputError(
                    f"{name} row {start + row + 1} has {col[row]:g}; class indices must be integers in [0, {k})"
                )
        # compared in the file's own dtype, before any cast: a uint64 or a float beyond int64 never wraps
        bad = (col < 0) | (col >= k) if col.dtype.kind != "b" else np.zeros(len(col), dtype=bool)
        if self.ignore_index is not None:
            bad &= col != self.ignore_index
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(
                f"{name} row {start + row + 1} has class index {_shown_integer(col[row])} but the predictions "
                f"have {k} columns; class indices must be in [0, {k})"
                + (
                    ""
                    if self.ignore_index is not None
                    else f" (or pass --ignore-index {_shown_integer(col[row])} to skip such rows)"
                )
            )
        return col.astype(np.int64)

    def _weights(self, a: np.ndarray, start: int) -> np.ndarray:
        if a.shape[1] != 1:
            raise InputError(f"{self.weights.name} has {a.shape[1]} columns; give one weight per sample (N numbers)")
        _check_exact(a, self.weights.name, start)
        return a[:, 0].astype(np.float64, copy=False)


def read_chunks(
    predictions: Source,
    labels: Source,
    weights: Source | None = None,
    **options,
) -> ChunkReader:
    """Aligned batches of ``predictions``, ``labels`` and ``weights``; see :class:`ChunkReader`."""
    return ChunkReader(predictions, labels, weights, **options)


class AlignedReader(ChunkReader):
    """Several prediction sources against one label source (``lossctl compare``), read in one pass.

    Iterating yields, per block of rows, one :class:`~lossctl.chunk.Chunk` per prediction source,
    all over the same rows (labels and weights read once). NaN is refused (``nan="error"``): rows
    dropped from one model but not another would not be paired.
    """

    def __init__(self, predictions: list[Source], labels: Source, weights: Source | None = None, **options) -> None:
        super().__init__(predictions[0], labels, weights, **options)
        self.models = [ChunkReader(p, labels, weights, **options) for p in predictions]

    def _read(self) -> Iterator[list[Chunk]]:
        m = len(self.models)
        sources = [*(r.predictions for r in self.models), self.labels] + ([self.weights] if self.weights else [])
        streams = [prefetch(lambda s=s: rechunk(s.chunks(self.chunk_rows), self.chunk_rows)) for s in sources]
        counts = [0] * len(streams)
        start = 0
        while True:
            parts = [next(s, None) for s in streams]
            if all(p is None for p in parts):
                return
            for i, part in enumerate(parts):
                counts[i] += 0 if part is None else len(part)
            if any(p is None for p in parts) or len({len(p) for p in parts}) != 1:
                for i, stream in enumerate(streams):
                    counts[i] += sum(len(c) for c in stream)
                raise self._aligned_mismatch(counts, sources, m)
            shared = parts[m:]
            yield [model._chunk([parts[i], *shared], start) for i, model in enumerate(self.models)]
            start += len(parts[0])

    def _aligned_mismatch(self, counts: list[int], sources: list[Source], m: int) -> InputError:
        labels = counts[m]
        for count, source in zip(counts[:m], sources[:m], strict=True):
            if count != labels:
                return InputError(
                    f"{source.name} has {count} rows but {self.labels.name} has {labels} (rows are samples)"
                )
        return InputError(
            f"{self.weights.name} has {counts[m + 1]} weights but {self.labels.name} has {labels} rows; "
            "give one weight per sample"
        )
