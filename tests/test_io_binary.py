"""Binary inputs (.npy, .npz, .parquet): every dtype and layout, chunked streaming, bad files, memory.

The corpus files are written by ``tests/corpus/make_binary.py``; the values
they must read to are written out by hand here, not computed from that script.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from numpy.testing import assert_allclose, assert_array_equal

import lossctl
from lossctl.errors import InputError
from lossctl.io import open_source
from tests.conftest import assert_error

CORPUS = Path(__file__).parent / "corpus"
BAD, MESSY = CORPUS / "bad", CORPUS / "messy"

# the reference every messy file encodes: 6 samples × 3 outputs, 0..17 row by row
REF = np.array(
    [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11], [12, 13, 14], [15, 16, 17]],
    dtype=np.float64,
)
REF_PARITY = np.array([[0, 1, 0], [1, 0, 1], [0, 1, 0], [1, 0, 1], [0, 1, 0], [1, 0, 1]], dtype=np.float64)
REF_1D = np.array([[0], [3], [6], [9], [12], [15]], dtype=np.float64)

# (file spec, expected array, dtype reported on the Source, mse mean against zeros, provenance)
MESSY_CASES = [
    ("float16.npy", REF, "float16", 1785 / 18, "Σ i² for i<18 = 17·18·35/6 = 1785 over N·K = 18"),
    ("float32.npy", REF, "float32", 1785 / 18, "as above"),
    ("int8.npy", REF, "int8", 1785 / 18, "as above"),
    ("uint16.npy", REF, "uint16", 1785 / 18, "as above"),
    ("int64.npy", REF, "int64", 1785 / 18, "as above"),
    ("fortran.npy", REF, "float64", 1785 / 18, "Fortran order: same values row by row"),
    ("bigendian.npy", REF, "float64", 1785 / 18, "big-endian >f8"),
    ("fortran_bigendian_int32.npy", REF, "int32", 1785 / 18, "Fortran + big-endian >i4"),
    ("bool.npy", REF_PARITY, "bool", 0.5, "i % 2 as bool: 9 ones of 18"),
    ("1d.npy", REF_1D, "float64", 82.5, "1-D is (N, 1): (0+9+36+81+144+225)/6 = 495/6"),
    ("scalar.npy", np.array([[2.5]]), "float64", 6.25, "0-D is (1, 1): 2.5²"),
    ("single.npz", REF, "float64", 1785 / 18, "the only array, no key needed"),
    ("compressed.npz:preds", REF, "float32", 1785 / 18, "savez_compressed, key selected"),
    ("compressed.npz:labels", REF[::-1], "float64", 1785 / 18, "the other key: rows reversed"),
    ("fortran_compressed.npz", REF, "float64", 1785 / 18, "Fortran order inside a deflated zip"),
    ("plain.parquet", REF, "float64", 1785 / 18, "three double columns out0..out2"),
    ("row_groups.parquet", REF, "float64", 1785 / 18, "row groups of 4 rows: 4 + 2"),
    ("mixed_types.parquet", REF, "float32", 1785 / 18, "int8, float32, uint16 columns; common type float32"),
    ("pandas_index.parquet", REF, "float64", 1785 / 18, "pandas index column sample_id skipped"),
]


def zeros_like_file(tmp: Path, shape: tuple[int, int]) -> str:
    path = tmp / f"zeros_{shape[0]}x{shape[1]}.npy"
    np.save(path, np.zeros(shape))
    return str(path)


# ---------------------------------------------------------------- inputs that must just work


@pytest.mark.parametrize("spec,expected,dtype,mse,provenance", MESSY_CASES, ids=[c[0] for c in MESSY_CASES])
def test_messy_files_read_to_the_reference(spec, expected, dtype, mse, provenance, tmp_path):
    path = f"{MESSY}/{spec}"
    got = lossctl.read_array(path)
    assert got.shape == expected.shape
    assert_array_equal(got.astype(np.float64), expected, err_msg=provenance)
    assert open_source(path).dtype == dtype
    report = lossctl.evaluate("mse", path, zeros_like_file(tmp_path, expected.shape))
    assert_allclose(report.convention("mean").value, mse, rtol=1e-14, err_msg=provenance)
    assert report.dtype == dtype
    assert f"dtype:{dtype}" in report.signature


@pytest.mark.parametrize("spec", [c[0] for c in MESSY_CASES if c[1] is REF])
def test_messy_files_against_each_other_give_zero(spec):
    report = lossctl.evaluate("mse", f"{MESSY}/{spec}", f"{MESSY}/float32.npy")
    assert report.convention("sum").value == 0.0


def test_parquet_keeps_column_names_and_skips_the_pandas_index():
    assert open_source(f"{MESSY}/plain.parquet").column_names == ("out0", "out1", "out2")
    assert open_source(f"{MESSY}/pandas_index.parquet").column_names == ("out0", "out1", "out2")
    assert open_source(f"{MESSY}/mixed_types.parquet").column_names == ("i8", "f32", "u16")
    assert open_source(f"{MESSY}/fortran.npy").column_names is None


def test_width_is_known_without_reading_rows():
    assert open_source(f"{MESSY}/fortran.npy").width == 3
    assert open_source(f"{MESSY}/1d.npy").width == 1
    assert open_source(f"{MESSY}/compressed.npz:preds").width == 3
    assert open_source(f"{MESSY}/mixed_types.parquet").width == 3


def test_parquet_projection_reads_only_the_selected_columns():
    # text_column.parquet: pred [0.9, 0.2, 0.4], label ["cat", "dog", "cat"]
    source = open_source(f"{BAD}/text_column.parquet")
    assert source.column_names == ("pred", "label")
    with pytest.raises(InputError, match="column 'label' holds string values"):
        list(source.chunks())
    only_pred = source.project([0])
    assert only_pred.column_names == ("pred",) and only_pred.width == 1
    assert_array_equal(np.concatenate(list(only_pred.chunks(2))), [[0.9], [0.2], [0.4]])
    swapped = open_source(f"{MESSY}/mixed_types.parquet").project([2, 0])
    assert swapped.column_names == ("u16", "i8")
    assert_array_equal(np.concatenate(list(swapped.chunks())), REF[:, [2, 0]])


def test_parquet_nulls_become_nan():
    got = lossctl.read_array(f"{MESSY}/nulls.parquet")
    # pred [0.5, null, 1.5, 2.0]; count [1, 2, null, 4]; flag [True, False, True, null]
    expected = np.array([[0.5, 1, 1], [np.nan, 2, 0], [1.5, np.nan, 1], [2.0, 4, np.nan]])
    assert_array_equal(got, expected)


def test_parquet_nulls_are_refused_or_omitted(cli, tmp_path):
    zeros = zeros_like_file(tmp_path, (4, 3))
    assert_error(cli("mse", MESSY / "nulls.parquet", zeros), "nulls.parquet row 2 column 1 is nan", "--nan omit")
    result = cli("mse", MESSY / "nulls.parquet", zeros, "--nan", "omit", "-f", "plain", "-c", "mean")
    assert result.exit_code == 0, result.stderr
    # only row 1 survives: (0.5² + 1² + 1²) / 3 = 2.25 / 3
    assert float(result.stdout) == pytest.approx(0.75, rel=1e-14)
    assert "dropped 3 samples" in result.stderr


def test_npz_key_through_the_cli(cli):
    result = cli("mse", f"{MESSY}/compressed.npz:preds", f"{MESSY}/compressed.npz:labels", "-f", "plain", "-c", "sum")
    assert result.exit_code == 0, result.stderr
    # rows reversed: row i vs row 5-i differ by 3·(2i-5) in each of 3 columns; Σ 3·9·(2i-5)² = 27·70
    assert float(result.stdout) == pytest.approx(27 * 70, rel=1e-14)


# ---------------------------------------------------------------- chunked reading


def _layouts(tmp: Path, arr: np.ndarray) -> dict[str, str]:
    """``arr`` written in every binary layout; returns {layout: spec}."""
    out = {}
    np.save(tmp / "c.npy", arr)
    out["npy C"] = str(tmp / "c.npy")
    np.save(tmp / "f.npy", np.asfortranarray(arr))
    out["npy Fortran"] = str(tmp / "f.npy")
    np.save(tmp / "fbe.npy", np.asfortranarray(arr.astype(arr.dtype.newbyteorder(">"))))
    out["npy Fortran big-endian"] = str(tmp / "fbe.npy")
    np.savez(tmp / "s.npz", other=np.zeros(2), a=arr)
    out["npz stored"] = str(tmp / "s.npz") + ":a"
    np.savez_compressed(tmp / "z.npz", a=arr)
    out["npz compressed"] = str(tmp / "z.npz")
    np.savez_compressed(tmp / "zf.npz", a=np.asfortranarray(arr))
    out["npz compressed Fortran"] = str(tmp / "zf.npz")
    table = pa.table({f"c{j}": arr[:, j] for j in range(arr.shape[1])})
    pq.write_table(table, tmp / "p.parquet", row_group_size=97)
    out["parquet"] = str(tmp / "p.parquet")
    return out


@pytest.mark.parametrize("rows", [1, 3, 64, 96, 97, 98, 999, 1000, 5000])
def test_chunks_across_boundaries_are_identical(tmp_path, rows):
    arr = np.random.default_rng(rows).normal(size=(1000, 7))
    for layout, spec in _layouts(tmp_path, arr).items():
        chunks = list(open_source(spec).chunks(rows))
        assert all(1 <= len(c) <= rows for c in chunks), layout
        assert_array_equal(np.concatenate(chunks), arr, err_msg=layout)


@pytest.mark.parametrize("chunk_rows", [1, 7, 100, 65536])
def test_loss_does_not_depend_on_chunk_size(tmp_path, chunk_rows):
    rng = np.random.default_rng(1)
    arr, lab = rng.normal(size=(300, 4)), rng.normal(size=(300, 4))
    np.save(tmp_path / "lab.npy", lab)
    expected = np.mean((arr - lab) ** 2)
    for layout, spec in _layouts(tmp_path, arr).items():
        report = lossctl.evaluate("mse", spec, str(tmp_path / "lab.npy"), chunk_rows=chunk_rows)
        assert_allclose(report.convention("mean").value, expected, rtol=1e-13, err_msg=layout)


# ---------------------------------------------------------------- properties

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, bool]


@st.composite
def arrays(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    ndim = draw(st.integers(1, 2))
    shape = (draw(st.integers(1, 40)),) if ndim == 1 else (draw(st.integers(1, 40)), draw(st.integers(1, 5)))
    if dtype.kind == "f":
        bound = min(float(np.finfo(dtype).max) / 2, 1e100)  # squares stay finite in float64
        elements = hnp.from_dtype(dtype, allow_nan=False, allow_infinity=False, min_value=-bound, max_value=bound)
    elif dtype.kind in "iu" and dtype.itemsize == 8:  # beyond ±2**53 is refused (test_faults.py)
        elements = hnp.from_dtype(dtype, min_value=0 if dtype.kind == "u" else -(2**53), max_value=2**53)
    else:
        elements = None
    arr = draw(hnp.arrays(dtype, shape, elements=elements))
    if draw(st.booleans()):
        arr = arr.astype(arr.dtype.newbyteorder(">"))
    if draw(st.booleans()):
        arr = np.asfortranarray(arr)
    return arr


def _write(path: Path, fmt: str, arr: np.ndarray) -> str:
    if fmt == "npy":
        np.save(path.with_suffix(".npy"), arr)
        return str(path.with_suffix(".npy"))
    if fmt == "npz":
        np.savez_compressed(path.with_suffix(".npz"), x=arr, y=np.zeros(1))
        return str(path.with_suffix(".npz")) + ":x"
    native = np.atleast_2d(arr.T).T.astype(arr.dtype.newbyteorder("="))
    pq.write_table(pa.table({f"c{j}": native[:, j] for j in range(native.shape[1])}), path.with_suffix(".parquet"))
    return str(path.with_suffix(".parquet"))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arr=arrays(), fmt=st.sampled_from(["npy", "npz", "parquet"]), chunk_rows=st.integers(1, 50))
def test_random_arrays_round_trip(arr, fmt, chunk_rows):
    as2d = arr.reshape(len(arr), -1).astype(np.float64)
    with tempfile.TemporaryDirectory() as tmp:
        spec = _write(Path(tmp) / "a", fmt, arr)
        assert_array_equal(lossctl.read_array(spec).astype(np.float64), as2d)
        chunks = list(open_source(spec).chunks(chunk_rows))
        assert_array_equal(np.concatenate(chunks).astype(np.float64), as2d)
        np.save(Path(tmp) / "zeros.npy", np.zeros(as2d.shape))
        report = lossctl.evaluate("mse", spec, str(Path(tmp) / "zeros.npy"), chunk_rows=chunk_rows)
    assert_allclose(report.convention("sum").value, np.sum(as2d**2), rtol=1e-12)


# ---------------------------------------------------------------- bad input through the CLI

# (file in tests/corpus/bad, fragments the one error line must contain)
BAD_CASES = [
    ("3d.npy", ["3d.npy is 3-D with shape (2, 3, 4)", "reshape it to (N, K)"]),
    ("3d.npz", ["3d.npz:x is 3-D", "reshape"]),
    ("complex.npy", ["complex.npy holds complex numbers (complex128)", "arr.real"]),
    ("strings.npy", ["strings.npy holds strings (dtype <U3)", "astype(float)"]),
    ("bytes.npy", ["bytes.npy holds strings (dtype |S3)"]),
    ("object.npy", ["object.npy holds Python objects", "never unpickles", "arbitrary code"]),
    ("object.npz", ["object.npz:arr holds Python objects", "never unpickles"]),
    ("structured.npy", ["structured.npy holds a structured (record) array with fields pred, label"]),
    ("datetime.npy", ["datetime.npy holds dates or times"]),
    ("empty_rows.npy", ["empty_rows.npy is empty (shape (0, 3))", "0 rows"]),
    ("empty_rows.parquet", ["empty_rows.parquet is empty", "0 rows"]),
    ("zero_bytes.npy", ["zero_bytes.npy is an empty file (0 bytes)"]),
    ("truncated.npy", ["truncated.npy is truncated", "(6, 3)", "144 bytes", "only 124"]),
    ("truncated_header.npy", ["truncated_header.npy is truncated", "inside its .npy header"]),
    ("corrupt_header.npy", ["corrupt_header.npy has a corrupt .npy header", "numpy.save"]),
    ("truncated.npz", ["truncated.npz is a truncated or corrupt .npz file", "numpy.savez"]),
    ("corrupt_crc.npz", ["corrupt_crc.npz:a is a corrupt .npz file", "CRC"]),
    ("truncated.parquet", ["truncated.parquet is a truncated or corrupt .parquet file", "to_parquet"]),
    ("several.npz", ["several.npz holds 2 arrays (preds, labels)", "several.npz:KEY"]),
    ("empty.npz", ["empty.npz holds 0 arrays"]),
    ("text_column.parquet", ["text_column.parquet column 'label' holds string values", "numeric columns"]),
    ("list_column.parquet", ["list_column.parquet column 'emb' holds list"]),
    ("csv_named.npy", ["csv_named.npy is not a .npy file", "looks like text", "rename it to .csv"]),
    ("csv_named.npz", ["csv_named.npz is not a .npz file", "rename it to .csv"]),
    ("parquet_named.npy", ["parquet_named.npy is not a .npy file", "Parquet", "rename it to .parquet"]),
    ("npy_named.parquet", ["npy_named.parquet is not a .parquet file", "rename it to .npy"]),
    ("pickle_named.npy", ["pickle_named.npy holds a Python pickle", "never unpickles"]),
]


def test_every_bad_binary_file_has_a_case():
    mine = {p.name for p in BAD.iterdir() if p.suffix in (".npy", ".npz", ".parquet")}
    assert mine == {name for name, _ in BAD_CASES}


@pytest.mark.parametrize("name,fragments", BAD_CASES, ids=[c[0] for c in BAD_CASES])
def test_bad_predictions(cli, name, fragments):
    assert_error(cli("mse", BAD / name, MESSY / "float32.npy"), *fragments)


@pytest.mark.parametrize("name,fragments", BAD_CASES[:6], ids=[c[0] for c in BAD_CASES[:6]])
def test_bad_labels(cli, name, fragments):
    assert_error(cli("mse", MESSY / "float32.npy", BAD / name), *fragments)


def test_missing_npz_key_lists_the_keys(cli):
    assert_error(
        cli("mse", f"{BAD}/several.npz:logits", MESSY / "float32.npy"),
        "several.npz has no array 'logits'",
        "its arrays are: preds, labels",
    )


def _npy_with_header(path: Path, header: str) -> str:
    """A version 1.0 .npy file with a hand-written header dict (padded to 64 bytes) and 48 bytes of data."""
    text = header + " " * (-(10 + len(header) + 1) % 64) + "\n"
    path.write_bytes(b"\x93NUMPY\x01\x00" + len(text).to_bytes(2, "little") + text.encode("latin1") + bytes(48))
    return str(path)


@pytest.mark.parametrize(
    "header,fragment",
    [
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (-3, 2), }", "shape (-3, 2) has a negative size"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (4, 2), }", "(64 bytes of data) but only 48 bytes follow"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", None),  # control: a valid hand-made file
        ("{'descr': 'not a dtype', 'fortran_order': False, 'shape': (6,), }", "corrupt .npy header"),
        ("{'descr': '<f8', 'shape': (6,), }", "corrupt .npy header"),
        ("[1, 2, 3]", "corrupt .npy header"),
        ("{'descr': '<f8', 'fortran_order': False, 'shape': (6,), '__import__': os}", "corrupt .npy header"),
    ],
)
def test_hand_written_headers(cli, tmp_path, header, fragment):
    spec = _npy_with_header(tmp_path / "hand.npy", header)
    result = cli("mse", spec, spec, "-f", "plain", "-c", "mean")
    if fragment is None:
        assert result.exit_code == 0, result.stderr
        assert float(result.stdout) == 0.0
    else:
        assert_error(result, "hand.npy", fragment)


def test_bad_input_is_an_input_error_in_the_api():
    with pytest.raises(InputError, match="holds complex numbers"):
        lossctl.read_array(str(BAD / "complex.npy"))


# ---------------------------------------------------------------- streaming keeps memory bounded


@pytest.mark.parametrize("order", ["C", "F"])
def test_reading_a_big_npy_in_chunks_keeps_memory_bounded(tmp_path, order):
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(2_000_000, 4), fortran_order=order == "F")
    big[:] = 1.5
    big.flush()
    del big
    size = os.path.getsize(path)  # 32 MB
    tracemalloc.start()
    try:
        total = 0.0
        rows = 0
        for chunk in open_source(str(path)).chunks(32768):
            total += float(chunk.astype(np.float64).sum())
            rows += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 2_000_000 and total == 1.5 * 8_000_000
    assert peak < size / 8, f"peak {peak} bytes for a {size}-byte file"


def test_evaluate_on_a_big_npy_keeps_memory_bounded(tmp_path):
    path = tmp_path / "big.npy"
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(2_000_000, 4))
    big[:] = 0.5
    big.flush()
    del big
    size = os.path.getsize(path)
    tracemalloc.start()
    try:
        report = lossctl.evaluate("mse", str(path), str(path), keep_per_sample=False, chunk_rows=8192)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert report.convention("mean").value == 0.0 and report.shape == (2_000_000, 4)
    assert peak < size / 4, f"peak {peak} bytes for a {size}-byte file"


# ---------------------------------------------------------------- start-up


def test_pyarrow_is_imported_only_for_parquet():
    code = (
        "import sys, lossctl\n"
        f"lossctl.evaluate('mse', {str(MESSY / 'float32.npy')!r}, {str(MESSY / 'single.npz')!r})\n"
        "assert 'pyarrow' not in sys.modules, 'pyarrow imported for .npy/.npz'\n"
        f"lossctl.evaluate('mse', {str(MESSY / 'plain.parquet')!r}, {str(MESSY / 'single.npz')!r})\n"
        "assert 'pyarrow' in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
