"""Write the binary files of the test corpus: ``python tests/corpus/make_binary.py``.

``bad/`` holds inputs lossctl must refuse with one ``error:`` line and exit
code 2; ``messy/`` holds inputs it must read, each to a value written out by
hand in ``tests/test_io_binary.py``. Every file is small and derived from the
fixed arrays below, so running this again rewrites the same contents (zip
timestamps are pinned to 1980-01-01 so ``.npz`` files are byte-identical too).
"""

from __future__ import annotations

import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent
BAD, MESSY = HERE / "bad", HERE / "messy"

#: the reference array every messy file encodes: 6 samples, 3 outputs, exact in float16/int8/uint16
REF = np.arange(18, dtype=np.float64).reshape(6, 3)


def npy_bytes(arr: np.ndarray, *, allow_pickle: bool = False) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=allow_pickle)
    return buf.getvalue()


def write_npz(path: Path, arrays: dict[str, np.ndarray], *, compress: bool = False) -> None:
    """Like numpy.savez(_compressed), with a fixed timestamp so the bytes are reproducible."""
    method = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        for key, arr in arrays.items():
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = method
            zf.writestr(info, npy_bytes(arr, allow_pickle=arr.dtype.hasobject))


def write_parquet(path: Path, table: pa.Table, **kw) -> None:
    pq.write_table(table, path, **kw)


def make_bad() -> None:
    BAD.mkdir(exist_ok=True)
    good = npy_bytes(REF)
    files: dict[str, bytes] = {
        "3d.npy": npy_bytes(np.zeros((2, 3, 4))),
        "complex.npy": npy_bytes(REF.astype(np.complex128)),
        "strings.npy": npy_bytes(np.array([["0.1", "0.9"], ["0.5", "0.5"]])),
        "bytes.npy": npy_bytes(np.array([b"cat", b"dog"])),
        # integers wrapped in Python objects: harmless here, but lossctl must never unpickle them
        "object.npy": npy_bytes(np.array([1, 2, 3], dtype=object), allow_pickle=True),
        "structured.npy": npy_bytes(np.zeros(4, dtype=[("pred", "f8"), ("label", "i4")])),
        "datetime.npy": npy_bytes(np.array(["2024-01-01", "2024-01-02"], dtype="datetime64[D]")),
        "empty_rows.npy": npy_bytes(np.zeros((0, 3))),
        "truncated.npy": good[: len(good) - 20],
        "truncated_header.npy": good[:40],
        "corrupt_header.npy": good[:10] + b"{'descr': '<f8', 'fortran_order': Fals" + b"\x00" * 80,
        "csv_named.npy": b"p0,p1\n0.9,0.1\n0.2,0.8\n",
        "pickle_named.npy": pickle.dumps([[0.9, 0.1], [0.2, 0.8]], protocol=4),
        "zero_bytes.npy": b"",
    }
    for name, data in files.items():
        (BAD / name).write_bytes(data)

    write_npz(BAD / "several.npz", {"preds": REF, "labels": REF})
    write_npz(BAD / "object.npz", {"arr": np.array([1.5, 2.5], dtype=object)})
    write_npz(BAD / "3d.npz", {"x": np.zeros((2, 2, 2))})
    write_npz(BAD / "empty.npz", {})
    stored = BAD / "several.npz"
    data = stored.read_bytes()
    (BAD / "truncated.npz").write_bytes(data[: len(data) // 2])
    # flip bytes inside the first member's data: the zip directory is intact, the CRC check fails
    single = io.BytesIO()
    with zipfile.ZipFile(single, "w") as zf:
        info = zipfile.ZipInfo("a.npy", date_time=(1980, 1, 1, 0, 0, 0))
        zf.writestr(info, good)
    raw = bytearray(single.getvalue())
    at = raw.index(b"\x93NUMPY") + 128 + 8  # 8 bytes into the array data
    raw[at : at + 8] = b"\xff" * 8
    (BAD / "corrupt_crc.npz").write_bytes(bytes(raw))
    (BAD / "csv_named.npz").write_bytes(b"p0,p1\n0.9,0.1\n")

    table = pa.table({"pred": [0.9, 0.2, 0.4], "label": ["cat", "dog", "cat"]})
    write_parquet(BAD / "text_column.parquet", table)
    write_parquet(BAD / "empty_rows.parquet", pa.table({"pred": pa.array([], pa.float64())}))
    write_parquet(BAD / "list_column.parquet", pa.table({"emb": [[0.1, 0.2], [0.3, 0.4]]}))
    buf = io.BytesIO()
    pq.write_table(pa.table({"pred": REF[:, 0], "label": REF[:, 1]}), buf)
    whole = buf.getvalue()
    (BAD / "truncated.parquet").write_bytes(whole[: len(whole) // 2])
    (BAD / "npy_named.parquet").write_bytes(good)
    (BAD / "parquet_named.npy").write_bytes(whole)


def make_messy() -> None:
    MESSY.mkdir(exist_ok=True)
    arrays = {
        "float16.npy": REF.astype(np.float16),
        "float32.npy": REF.astype(np.float32),
        "int8.npy": REF.astype(np.int8),
        "uint16.npy": REF.astype(np.uint16),
        "int64.npy": REF.astype(np.int64),
        "fortran.npy": np.asfortranarray(REF),
        "bigendian.npy": REF.astype(">f8"),
        "fortran_bigendian_int32.npy": np.asfortranarray(REF.astype(">i4")),
        "bool.npy": (REF.astype(np.int64) % 2).astype(bool),
        "1d.npy": REF[:, 0].copy(),
        "scalar.npy": np.float64(2.5),
    }
    for name, arr in arrays.items():
        (MESSY / name).write_bytes(npy_bytes(arr))
    write_npz(MESSY / "single.npz", {"arr_0": REF})
    write_npz(MESSY / "compressed.npz", {"preds": REF.astype(np.float32), "labels": REF[::-1].copy()}, compress=True)
    write_npz(MESSY / "fortran_compressed.npz", {"a": np.asfortranarray(REF)}, compress=True)

    columns = {f"out{j}": REF[:, j] for j in range(3)}
    write_parquet(MESSY / "plain.parquet", pa.table(columns))
    write_parquet(MESSY / "row_groups.parquet", pa.table(columns), row_group_size=4)
    mixed = pa.table(
        {
            "i8": pa.array(REF[:, 0].astype(np.int8)),
            "f32": pa.array(REF[:, 1].astype(np.float32)),
            "u16": pa.array(REF[:, 2].astype(np.uint16)),
        }
    )
    write_parquet(MESSY / "mixed_types.parquet", mixed)
    # a pandas frame with a named index: to_parquet stores the index as a column, which lossctl skips
    indexed = pa.table({**columns, "sample_id": [f"s{i}" for i in range(6)]})
    meta = {
        b"pandas": (
            b'{"index_columns": ["sample_id"], "column_indexes": [], "columns": ['
            + b", ".join(
                b'{"name": "%s", "field_name": "%s", "pandas_type": "float64", "numpy_type": "float64", '
                b'"metadata": null}' % (n.encode(), n.encode())
                for n in columns
            )
            + b', {"name": "sample_id", "field_name": "sample_id", "pandas_type": "unicode", '
            b'"numpy_type": "object", "metadata": null}], "pandas_version": "2.2.0"}'
        )
    }
    write_parquet(MESSY / "pandas_index.parquet", indexed.replace_schema_metadata(meta))
    nullable = pa.table(
        {
            "pred": pa.array([0.5, None, 1.5, 2.0], pa.float64()),
            "count": pa.array([1, 2, None, 4], pa.int64()),
            "flag": pa.array([True, False, True, None], pa.bool_()),
        }
    )
    write_parquet(MESSY / "nulls.parquet", nullable)


if __name__ == "__main__":
    make_bad()
    make_messy()
    print(f"wrote {len(list(BAD.iterdir()))} files in {BAD} and {len(list(MESSY.iterdir()))} in {MESSY}")
