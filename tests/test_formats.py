"""The formats of issue 14 give exactly the numbers the same arrays give in .npy (through the CLI, JSON output).

Each case writes one (N, 3) pair in a format with that format's own writer
(safetensors, pyarrow, json, h5py) and in .npy, then compares lossctl's JSON:
float32 and float64, every column and a selection, NaN rows and --nan omit.
"""

from __future__ import annotations

import json

import h5py
import numpy as np
import pyarrow as pa
import pyarrow.feather as feather
import pytest
from safetensors.numpy import save_file

from lossctl.io import open_source, read_array
from lossctl.io.columns import select
from tests.conftest import assert_error

N = 101


def _arrays(dtype) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    p, y = rng.normal(size=(N, 3)).astype(dtype), rng.normal(size=(N, 3)).astype(dtype)
    p[4, 1] = y[9, 2] = np.nan  # two rows --nan omit drops (and that plain runs refuse)
    return p, y


def write_safetensors(path, p, y):
    save_file({"y_pred": np.ascontiguousarray(p), "y_true": np.ascontiguousarray(y)}, f"{path}.safetensors")
    return f"{path}.safetensors:y_pred", f"{path}.safetensors:y_true"


def write_feather(path, p, y):
    for arr, side in ((p, "p"), (y, "y")):
        feather.write_feather(pa.table({f"c{j}": arr[:, j] for j in range(3)}), f"{path}.{side}.feather", chunksize=10)
    return f"{path}.p.feather", f"{path}.y.feather"


def write_arrow_stream(path, p, y):
    for arr, side in ((p, "p"), (y, "y")):
        schema = pa.schema([(f"c{j}", pa.from_numpy_dtype(arr.dtype)) for j in range(3)])
        with pa.ipc.new_stream(f"{path}.{side}.arrow", schema) as w:
            for s in range(0, N, 17):
                w.write_table(pa.table({f"c{j}": arr[s : s + 17, j] for j in range(3)}, schema=schema))
    return f"{path}.p.arrow", f"{path}.y.arrow"


def write_jsonl(path, p, y):
    def num(v):
        return None if np.isnan(v) else float(v)

    for arr, side in ((p, "p"), (y, "y")):
        with open(f"{path}.{side}.jsonl", "w") as f:
            for i, row in enumerate(arr):
                f.write(json.dumps({"id": f"s{i}", "a": num(row[0]), "b": num(row[1]), "c": num(row[2])}) + "\n")
    return f"{path}.p.jsonl", f"{path}.y.jsonl"


def write_jsonl_arrays(path, p, y):
    """Both sides in one file, each row an array under a key (NaN written as JSON NaN)."""
    with open(f"{path}.both.jsonl", "w") as f:
        for row_p, row_y in zip(p, y, strict=True):
            f.write(json.dumps({"y_pred": [float(v) for v in row_p], "y_true": [float(v) for v in row_y]}) + "\n")
    return f"{path}.both.jsonl", None


def write_h5(path, p, y):
    with h5py.File(f"{path}.h5", "w") as f:
        f.create_dataset("preds/y_pred", data=p, chunks=(8, 3))
        f.create_dataset("y_true", data=y)
    return f"{path}.h5:preds/y_pred", f"{path}.h5:y_true"


WRITERS = {
    "safetensors": write_safetensors,
    "feather": write_feather,
    "arrow-stream": write_arrow_stream,
    "jsonl": write_jsonl,
    "jsonl-arrays": write_jsonl_arrays,
    "h5": write_h5,
}


def _json(cli, *args) -> dict:
    result = cli(*map(str, args), "-f", "json")
    assert result.exit_code == 0, (result.stdout, result.stderr)
    return json.loads(result.stdout)


def _same(got: dict, want: dict, fmt: str) -> None:
    assert got["shape"] == want["shape"] and got["dropped"] == want["dropped"]
    assert got["conventions"] == want["conventions"]  # exactly: same floats, same order of sums
    if not fmt.startswith("jsonl"):  # JSON numbers are read as float64, so Keras's float32 cast is emulated
        assert got["dtype"] == want["dtype"]
        assert got["frameworks"] == want["frameworks"]


def _args(fmt: str, pred: str, label: str | None, select: bool) -> list[str]:
    if label is None:  # one file holding both sides
        if select:
            return [pred, "--pred-cols", "y_pred[0],y_pred[2]", "--label-cols", "y_true[0],y_true[2]"]
        return [pred, "--pred-cols", "y_pred", "--label-cols", "y_true"]
    if fmt == "jsonl":
        cols = "a,c" if select else "a,b,c"
        return [pred, label, "--pred-cols", cols, "--label-cols", cols]
    return [pred, label, *(["--pred-cols", "0,2", "--label-cols", "0,2"] if select else [])]


@pytest.mark.parametrize("select", [False, True], ids=["all-columns", "columns-0-2"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("fmt", list(WRITERS))
def test_format_gives_the_numbers_npy_gives(cli, tmp_path, fmt, dtype, select):
    p, y = _arrays(dtype)
    np.save(tmp_path / "p.npy", p)
    np.save(tmp_path / "y.npy", y)
    pred, label = WRITERS[fmt](tmp_path / "x", p, y)
    npy = [tmp_path / "p.npy", tmp_path / "y.npy", *(["--pred-cols", "0,2", "--label-cols", "0,2"] if select else [])]
    if label is None:  # one file holding both sides: compare with one .npy holding both (same column slicing)
        np.save(tmp_path / "both.npy", np.hstack([p, y]))
        npy = [
            tmp_path / "both.npy",
            "--pred-cols",
            "0,2" if select else "0:3",
            "--label-cols",
            "3,5" if select else "3:6",
        ]
    want = _json(cli, "mse", *npy, "--nan", "omit", "--chunk-rows", "16")
    assert want["dropped"] == (1 if select else 2)
    got = _json(cli, "mse", *_args(fmt, pred, label, select), "--nan", "omit", "--chunk-rows", "16")
    _same(got, want, fmt)
    # without --nan omit the NaN is refused, naming the row
    result = cli("mse", *_args(fmt, pred, label, select), "-f", "json")
    assert_error(result, "row 5 column 2 is nan" if not select else "row 10 column 2 is nan")


@pytest.mark.parametrize("fmt", list(WRITERS))
def test_chunks_are_bounded(tmp_path, fmt):
    """Every format streams: no chunk is bigger than asked for."""
    p, y = _arrays(np.float64)
    pred, _ = WRITERS[fmt](tmp_path / "x", p, y)
    src = open_source(pred)
    if src.column_names and "id" in src.column_names:
        src = select(src, "a,b,c", "--pred-cols")
    sizes = [len(c) for c in src.chunks(16)]
    assert sum(sizes) == N and max(sizes) <= 16


def test_safetensors_bf16_is_widened_exactly(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file as save_torch

    t = torch.tensor([[0.5, -1.25], [3.0, 1e-3]], dtype=torch.bfloat16)
    save_torch({"y": t}, str(tmp_path / "b.safetensors"))
    src = open_source(f"{tmp_path}/b.safetensors:y")
    assert src.dtype == "bfloat16"
    np.testing.assert_array_equal(read_array(f"{tmp_path}/b.safetensors"), t.float().numpy())


def test_safetensors_integer_and_bool_and_1d(tmp_path):
    save_file(
        {"i": np.arange(6, dtype=np.int16), "b": np.array([True, False]), "s": np.array(2.5)},
        str(tmp_path / "m.safetensors"),
    )
    np.testing.assert_array_equal(read_array(f"{tmp_path}/m.safetensors:i")[:, 0], np.arange(6))
    np.testing.assert_array_equal(read_array(f"{tmp_path}/m.safetensors:b")[:, 0], [1, 0])
    assert read_array(f"{tmp_path}/m.safetensors:s").tolist() == [[2.5]]


def test_safetensors_missing_name_lists_names_capped(cli, tmp_path):
    save_file({f"t{i:02d}": np.zeros(2) for i in range(25)}, str(tmp_path / "many.safetensors"))
    np.save(tmp_path / "y.npy", np.zeros(2))
    line = assert_error(cli("mse", f"{tmp_path}/many.safetensors:nope", tmp_path / "y.npy"), "has no tensor 'nope'")
    assert "t00, t01" in line and "t09, ... (25 in all)" in line and "t10" not in line


def test_jsonl_array_key_selects_all_its_columns(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"id": "a", "probs": [0.1, 0.9], "label": 1}\n\n{"id": "b", "probs": [0.8, 0.2], "label": 0}\n')
    src = open_source(str(path))
    assert src.column_names == ("id", "probs[0]", "probs[1]", "label")
    np.testing.assert_array_equal(read_of(select(src, "probs", "--pred-cols")), [[0.1, 0.9], [0.8, 0.2]])
    np.testing.assert_array_equal(read_of(select(src, "label,probs[1]", "--pred-cols")), [[1, 0.9], [0, 0.2]])


def read_of(src) -> np.ndarray:
    return np.concatenate(list(src.chunks(1)))


def test_jsonl_bare_arrays_and_errors_name_the_line(cli, tmp_path):
    (tmp_path / "a.jsonl").write_text("[1, 2]\n[3, 4]\n")
    np.testing.assert_array_equal(read_array(str(tmp_path / "a.jsonl")), [[1, 2], [3, 4]])
    np.save(tmp_path / "y.npy", np.zeros((2, 2)))
    (tmp_path / "ragged.jsonl").write_text("[1, 2]\n[3, 4, 5]\n")
    assert_error(
        cli("mse", tmp_path / "ragged.jsonl", tmp_path / "y.npy"), "ragged.jsonl line 2 is an array that has 3 numbers"
    )
    (tmp_path / "k.jsonl").write_text('{"p": [1, 2]}\n{"p": [3, 4, 5]}\n')
    assert_error(cli("mse", tmp_path / "k.jsonl", tmp_path / "y.npy"), "k.jsonl line 2 key 'p' has 3 numbers")


def test_hdf5_without_h5py_says_how_to_install(cli, tmp_path, monkeypatch):
    import builtins

    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("y", data=np.zeros(3))
    real = builtins.__import__

    def no_h5py(name, *args, **kw):
        if name == "h5py":
            raise ImportError("No module named 'h5py'")
        return real(name, *args, **kw)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    assert_error(cli("mse", tmp_path / "a.h5", tmp_path / "a.h5"), "needs h5py", "pip install 'lossctl[hdf5]'")


def test_hdf5_group_and_string_dataset(cli, tmp_path):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("g/y", data=np.zeros(3))
        f.create_dataset("names", data=np.array([b"a", b"b"]), dtype=h5py.string_dtype())
    np.save(tmp_path / "y.npy", np.zeros(3))
    assert_error(cli("mse", f"{tmp_path}/a.h5:g", tmp_path / "y.npy"), "has a group 'g'", "g/y")
    assert_error(cli("mse", f"{tmp_path}/a.h5:names", tmp_path / "y.npy"), "a.h5:names holds strings")


def test_one_file_split_into_both_sides_survives_two_reader_threads():
    """--pred-cols/--label-cols on one file: each view is read on its own prefetch thread (was a tee race)."""
    import threading
    import time

    from lossctl.io.columns import split
    from lossctl.io.readers import Source

    data = np.random.default_rng(3).normal(size=(400, 2))

    def slow(rows):
        for s in range(0, len(data), rows):
            time.sleep(0.001)  # a slow parser: the other thread asks for its next chunk meanwhile
            yield data[s : s + rows]

    views = split(Source("slow.csv", slow, width=2), "0", "1")
    out: dict[int, object] = {}

    def read(i: int) -> None:
        try:
            out[i] = np.concatenate(list(views[i].chunks(5)))
        except Exception as e:  # noqa: BLE001 - handed to the assertion below
            out[i] = e

    threads = [threading.Thread(target=read, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(out[0], data[:, :1])
    np.testing.assert_array_equal(out[1], data[:, 1:])


def test_hdf5_only_dataset_needs_no_key(tmp_path):
    with h5py.File(tmp_path / "one.h5", "w") as f:
        f.create_dataset("deep/inside/y", data=np.arange(4.0))
    np.testing.assert_array_equal(read_array(str(tmp_path / "one.h5"))[:, 0], [0, 1, 2, 3])
    assert open_source(str(tmp_path / "one.h5")).name.endswith("one.h5:deep/inside/y")


@pytest.mark.parametrize("length", [640, 896, 1152, 1408, 0x10280])
def test_safetensors_header_length_that_looks_like_a_pickle_opcode(tmp_path, length):
    """A header of 640 bytes starts the file with 80 02, like a pickle's PROTO 2: it is still read."""
    raw = json.dumps({"y": {"dtype": "F64", "shape": [2], "data_offsets": [0, 16]}}).encode()
    raw += b" " * (length - len(raw))  # the format pads the header with spaces
    data = length.to_bytes(8, "little") + raw + np.array([1.5, -2.0]).tobytes()
    assert data[:2] in (b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")
    (tmp_path / "t.safetensors").write_bytes(data)
    assert read_array(str(tmp_path / "t.safetensors"))[:, 0].tolist() == [1.5, -2.0]
