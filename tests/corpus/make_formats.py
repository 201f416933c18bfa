"""Write the corpus files of the formats added with issue 14: ``python tests/corpus/make_formats.py``.

``bad/`` gets, for each of .safetensors, Arrow IPC (.arrow/.feather), .jsonl and
.h5: a truncated file, a wrong dtype, a file that needs a key (or lacks a key),
and empty files; plus pickle-based files that must be refused unopened. The
expected messages are in tests/test_corpus.py.
"""

from __future__ import annotations

import io
import json
import pickle
import struct
import warnings
from pathlib import Path

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
from safetensors.numpy import save

HERE = Path(__file__).resolve().parent
BAD = HERE / "bad"
REF = np.arange(18, dtype=np.float64).reshape(6, 3)


def safetensors_bytes(header: dict, data: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def make_safetensors() -> None:
    good = save({"y_pred": REF})
    files = {
        "truncated.safetensors": good[:-40],
        "truncated_header.safetensors": good[:30],
        "corrupt_header.safetensors": struct.pack("<Q", 12) + b"{not json!!}" + b"\x00" * 8,
        "f8.safetensors": safetensors_bytes(
            {"y": {"dtype": "F8_E4M3", "shape": [6, 3], "data_offsets": [0, 18]}}, bytes(18)
        ),
        "several.safetensors": save({"preds": REF, "labels": REF}),
        "zero_bytes.safetensors": b"",
        "no_tensors.safetensors": safetensors_bytes({"__metadata__": {"format": "np"}}),
        "empty_rows.safetensors": save({"y": np.zeros((0, 3))}),
        "3d.safetensors": save({"y": np.zeros((2, 3, 4))}),
    }
    for name, data in files.items():
        (BAD / name).write_bytes(data)


def make_arrow() -> None:
    table = pa.table({f"out{j}": REF[:, j] for j in range(3)})
    buf = io.BytesIO()
    feather.write_feather(table, buf)
    whole = buf.getvalue()
    (BAD / "truncated.feather").write_bytes(whole[: len(whole) // 2])
    stream = io.BytesIO()
    with pa.ipc.new_stream(stream, table.schema) as w:
        w.write_table(table)
    data = stream.getvalue()
    (BAD / "truncated.arrow").write_bytes(data[: len(data) - 60])
    labels = ["cat", "dog", "cat", "dog", "cat", "dog"]
    feather.write_feather(pa.table({"pred": REF[:, 0], "label": labels}), BAD / "text_column.feather")
    feather.write_feather(pa.table({"pred": pa.array([], pa.float64())}), BAD / "empty_rows.arrow")
    (BAD / "zero_bytes.feather").write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pyarrow deprecates writing Feather v1
        feather.write_feather(table.to_pandas(), BAD / "feather_v1.feather", version=1)


def make_jsonl() -> None:
    rows = [json.dumps({"a": r[0], "b": r[1], "c": r[2]}) for r in REF.tolist()]
    text = "\n".join(rows) + "\n"
    files = {
        "empty.jsonl": "",
        "blank.jsonl": "\n  \n\n",
        "truncated.jsonl": text[:-12],
        "text_value.jsonl": text.replace('"b": 7.0', '"b": "cat"'),
        "missing_key.jsonl": text.replace(', "c": 11.0', ""),
        "numbers.jsonl": "0.5\n0.7\n",
    }
    for name, content in files.items():
        (BAD / name).write_text(content)


def make_h5() -> None:
    good = io.BytesIO()
    with h5py.File(good, "w") as f:
        f.create_dataset("y", data=REF, track_times=False)
    whole = good.getvalue()
    (BAD / "truncated.h5").write_bytes(whole[: len(whole) // 2])
    with h5py.File(BAD / "several.h5", "w") as f:
        f.create_dataset("preds", data=REF, track_times=False)
        f.create_dataset("labels", data=REF, track_times=False)
    with h5py.File(BAD / "strings.h5", "w") as f:
        f.create_dataset("y", data=["cat", "dog"], dtype=h5py.string_dtype(), track_times=False)
    with h5py.File(BAD / "empty_rows.h5", "w") as f:
        f.create_dataset("y", data=np.zeros((0, 3)), track_times=False)
    (BAD / "zero_bytes.h5").write_bytes(b"")


def make_pickles() -> None:
    # harmless contents: these files are refused before a byte is unpickled, whatever they hold
    (BAD / "preds.pkl").write_bytes(pickle.dumps(REF.tolist(), protocol=4))
    (BAD / "preds.pt").write_bytes(pickle.dumps(REF.tolist(), protocol=2))
    (BAD / "pickle_named.safetensors").write_bytes(pickle.dumps(REF.tolist(), protocol=4))


if __name__ == "__main__":
    BAD.mkdir(exist_ok=True)
    make_safetensors()
    make_arrow()
    make_jsonl()
    make_h5()
    make_pickles()
    print(f"wrote the issue-14 format files in {BAD}")
