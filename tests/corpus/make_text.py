"""Write the text files of the test corpus: ``python tests/corpus/make_text.py``.

``messy/`` holds text inputs lossctl must read, every one of them to the same
array ``REF`` (6 samples, 3 outputs: 0..17) that ``messy/clean.csv`` holds
plainly; ``bad/`` holds text inputs it must refuse with one ``error:`` line
and exit code 2 (the expected messages are in ``tests/test_corpus.py``, whose
partner file is ``messy/clean.csv``). gzip files are written with mtime 0, so
running this again rewrites the same bytes.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
BAD, MESSY = HERE / "bad", HERE / "messy"

#: what every messy text file holds
REF = np.arange(18, dtype=np.float64).reshape(6, 3)


def rows(fmt: str = "{:g}", sep: str = ",", end: str = "\n", ref: np.ndarray = REF) -> str:
    return "".join(sep.join(fmt.format(v) for v in row) + end for row in ref)


def gz(text: str | bytes) -> bytes:
    data = text.encode() if isinstance(text, str) else text
    return gzip.compress(data, mtime=0)


def npy_bytes(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


CLEAN = rows()
HEADER = "p0,p1,p2\n"

MESSY_FILES: dict[str, bytes] = {
    "clean.csv": CLEAN.encode(),
    "header.csv": (HEADER + CLEAN).encode(),
    "bom.csv": b"\xef\xbb\xbf" + (HEADER + CLEAN).encode(),
    "crlf.csv": rows(end="\r\n").encode(),
    "bom_crlf_header.csv": b"\xef\xbb\xbf" + ("p0,p1,p2\r\n" + rows(end="\r\n")).encode(),
    "spaces.csv": ("  p0 , p1 ,  p2\n" + rows(fmt=" {:g} ", sep=" , ")).encode(),
    "trailing_blank_lines.csv": (CLEAN + "\n\n   \n\t\n").encode(),
    "blank_lines_inside.csv": ("\n" + HEADER + "\n" + rows(end="\n\n")).encode(),
    "no_final_newline.csv": CLEAN.rstrip("\n").encode(),
    "scientific.csv": rows(fmt="{:.3e}").encode(),
    "scientific_upper.csv": rows(fmt="{:E}").encode(),
    "mixed_forms.csv": "".join(f"{int(a)},{b:.1f},{c:.2e}\n" for a, b, c in REF).encode(),
    "quoted.csv": ('"p0","p1","p2"\n' + rows(fmt='"{:g}"')).encode(),
    "tabs.tsv": ("p0\tp1\tp2\n" + rows(sep="\t")).encode(),
    "tabs.txt": rows(sep="\t").encode(),
    "semicolons.csv": ("p0;p1;p2\n" + rows(sep=";")).encode(),
    "pipes.txt": rows(sep="|").encode(),
    "savetxt_default.txt": rows(fmt="{:.18e}", sep=" ").encode(),
    "aligned_whitespace.txt": rows(fmt="{:>8.2f}", sep="  ").encode(),
    "gzipped.csv.gz": gz(HEADER + CLEAN),
    "gzipped_crlf.tsv.gz": gz(b"\xef\xbb\xbf" + rows(sep="\t", end="\r\n").encode()),
    "gzip_without_gz_suffix.csv": gz(CLEAN),
    "two_gzip_members.csv.gz": gz(HEADER + rows(ref=REF[:2])) + gz(rows(ref=REF[2:])),
}

BAD_FILES: dict[str, bytes] = {
    "empty.csv": b"",
    "blank.csv": b"\n   \n\t\n\n",
    "header_only.csv": HEADER.encode(),
    "header_only_crlf.tsv": b"p0\tp1\tp2\r\n\r\n",
    "non_numeric.csv": b"0,1,2\n3,abc,5\n6,7,8\n9,10,11\n12,13,14\n15,16,17\n",
    "class_names.csv": (HEADER + "0,1,cat\n" + rows(ref=REF[1:])).encode(),
    "ragged.csv": b"0,1,2\n3,4,5\n6,7,8\n9,10\n12,13,14\n15,16,17\n",
    "ragged_header.csv": (HEADER + "0,1,2,3\n" + rows(ref=REF[1:])).encode(),
    "nan.csv": (HEADER + "0,1,2\n3,4,NaN\n" + rows(ref=REF[2:])).encode(),
    "inf.csv": b"0,1,2\n3,4,5\n6,7,8\n-inf,10,11\n12,13,14\n15,16,17\n",
    "overflow.csv": b"0,1,2\n3,4,5\n6,7,8\n9,10,11\n12,13,1e999\n15,16,17\n",
    "empty_cell.csv": b"0,1,2\n3,,5\n6,7,8\n9,10,11\n12,13,14\n15,16,17\n",
    "five_rows.csv": rows(ref=REF[:5]).encode(),
    "four_columns.csv": rows(ref=np.hstack([REF, REF[:, :1]])).encode(),
    "truncated.csv.gz": gz(CLEAN * 50)[:-30],
    "corrupt.csv.gz": (lambda d: d[:20] + bytes(b ^ 0x55 for b in d[20:40]) + d[40:])(gz(CLEAN * 50)),
    "bad_crc.csv.gz": (lambda d: d[:-8] + b"\x00\x00\x00\x00" + d[-4:])(gz(CLEAN)),
    "not_gzip.csv.gz": CLEAN.encode(),
    "binary_junk.csv": b"0,1,2\n3,4,5\n\x89\x00\x17\xfe\x00junk\x01\x02\n",
    "latin1.csv": ("p0,p1,caf\u00e9\n" + CLEAN).encode("latin-1"),
    "utf16.csv": (HEADER + CLEAN).encode("utf-16"),
    "decimal_comma.csv": "".join(";".join(f"{v:.1f}".replace(".", ",") for v in row) + "\n" for row in REF).encode(),
    "npy_named.csv": npy_bytes(REF),
    "parquet_named.txt": b"PAR1\x15\x04\x15\x10\x15\x14L\x15\x02\x15\x00\x12\x00\x00PAR1",
    "spreadsheet.xlsx": b"PK\x03\x04 not really a spreadsheet",
    "no_suffix": CLEAN.encode(),
}


def main() -> None:
    MESSY.mkdir(exist_ok=True)
    BAD.mkdir(exist_ok=True)
    for name, data in MESSY_FILES.items():
        (MESSY / name).write_bytes(data)
    for name, data in BAD_FILES.items():
        (BAD / name).write_bytes(data)
    directory = BAD / "directory.csv"
    directory.mkdir(exist_ok=True)
    (directory / "README").write_text("A directory named like a CSV file: lossctl must refuse it.\n")


if __name__ == "__main__":
    main()
