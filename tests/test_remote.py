"""Remote inputs: fsspec URLs read in ranges, the same numbers as local files, storage errors as one line.

Two levels. ``memory://`` URLs exercise the reader plumbing in-process (every
format, shards, list files, what a URL's name shows). A real S3-compatible
server (moto's server mode, started here on 127.0.0.1 as a separate process)
is then read through s3fs by the CLI, configured only by the standard AWS
environment variables, and compared with the same arrays read from local files.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
import warnings

import numpy as np
import pytest

fsspec = pytest.importorskip("fsspec")

from lossctl.errors import InputError  # noqa: E402
from lossctl.io import open_source, read_array  # noqa: E402
from lossctl.io.remote import display, is_url, url_path  # noqa: E402

RNG = np.random.default_rng(14)
P = RNG.normal(size=(240, 3))
Y = RNG.normal(size=(240, 3))
W = RNG.random(240) + 0.5


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


def _csv(a: np.ndarray, header: str | None = "a,b,c", sep: str = ",") -> bytes:
    lines = [header] if header else []
    lines += [sep.join(repr(float(v)) for v in row) for row in a]  # repr: exact float64 round trip
    return ("\n".join(lines) + "\n").encode()


def _parquet(a: np.ndarray) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buf = io.BytesIO()
    table = pa.table({"id": [f"r{i}" for i in range(len(a))], **{c: a[:, j] for j, c in enumerate("abc")}})
    pq.write_table(table, buf, row_group_size=50)  # several row groups: read by batches
    return buf.getvalue()


def _safetensors(**arrays: np.ndarray) -> bytes:
    from safetensors.numpy import save

    return save({k: np.ascontiguousarray(v) for k, v in arrays.items()})


def _feather(a: np.ndarray) -> bytes:
    import pyarrow as pa
    import pyarrow.feather as feather

    buf = io.BytesIO()
    feather.write_feather(pa.table({c: a[:, j] for j, c in enumerate("abc")}), buf, chunksize=40)
    return buf.getvalue()


def _jsonl(a: np.ndarray) -> bytes:
    return "".join(json.dumps({"a": float(r[0]), "b": float(r[1]), "c": float(r[2])}) + "\n" for r in a).encode()


def _h5(**arrays: np.ndarray) -> bytes:
    h5py = pytest.importorskip("h5py")
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        for k, v in arrays.items():
            f.create_dataset(k, data=v, chunks=(16, v.shape[1]))
    return buf.getvalue()


# --------------------------------------------------------------------------- memory:// (in-process)


@pytest.fixture
def mem():
    """A fresh folder of fsspec's in-memory filesystem; returns (write(name, bytes), url(name))."""
    fs = fsspec.filesystem("memory")
    root = f"/lossctl-test-{uuid.uuid4().hex}"

    def put(name: str, data: bytes) -> str:
        fs.pipe(f"{root}/{name}", data)
        return f"memory://{root}/{name}"

    yield put
    fs.rm(root, recursive=True)


def test_is_url_and_display():
    assert is_url("s3://bucket/p.npy") and is_url("https://h/p.npy") and is_url("memory://x.csv")
    # a Windows drive letter is a path, not a URL; so is a plain relative name with a colon key
    assert not is_url("C://data/p.npy") and not is_url("C:\\data\\p.npy") and not is_url("p.npz:y")
    # a password and a presigned query string never reach a message
    assert display("https://me:s3cret@host/p.npy?X-Amz-Signature=abc") == "https://me@host/p.npy?…"
    assert display("s3://bucket/a\nb.npy") == "s3://bucket/a\\nb.npy"
    assert url_path("https://host/p.csv?sig=1") == "https://host/p.csv"
    assert url_path("odd?name.csv") == "odd?name.csv"  # a local name keeps its ?


@pytest.mark.parametrize(
    "fmt",
    ["npy", "npz", "csv", "csv.gz", "tsv", "parquet", "safetensors", "feather", "jsonl", "h5", "npy-fortran"],
)
def test_memory_url_reads_the_local_numbers(mem, fmt):
    data = {
        "npy": lambda: _npy(P),
        "npy-fortran": lambda: _npy(np.asfortranarray(P)),
        "npz": lambda: (lambda b: (np.savez(b, y_pred=P, y_true=Y), b.getvalue())[1])(io.BytesIO()),
        "csv": lambda: _csv(P),
        "csv.gz": lambda: gzip.compress(_csv(P)),
        "tsv": lambda: _csv(P, "a\tb\tc", "\t"),
        "parquet": lambda: _parquet(P),
        "safetensors": lambda: _safetensors(y_pred=P, y_true=Y),
        "feather": lambda: _feather(P),
        "jsonl": lambda: _jsonl(P),
        "h5": lambda: _h5(y_pred=P, y_true=Y),
    }[fmt]()
    ext = fmt.split("-")[0]
    url = mem(f"p.{ext}", data) + (":y_pred" if ext in ("npz", "safetensors", "h5") else "")
    src = open_source(url)
    assert src.name == url
    if ext == "parquet":  # the id column is left behind by column selection
        assert src.column_names == ("id", "a", "b", "c")
        src = src.project([1, 2, 3])
    chunks = list(src.chunks(7))  # many small chunks: ranged reads, not one
    np.testing.assert_array_equal(np.concatenate(chunks), P)
    assert all(len(c) <= 7 for c in chunks[:-1]) or ext in ("csv", "csv.gz", "tsv")  # text: one block


def test_memory_glob_is_natural_order_and_list_files_take_urls(mem, tmp_path):
    cuts = [0, 17, 60, 61, 140, 240]
    numbers = [1, 2, 10, 11, 100]  # lexical order would put part-10 before part-2
    urls = [mem(f"shards/part-{n}.npy", _npy(P[a:b])) for n, a, b in zip(numbers, cuts, cuts[1:], strict=False)]
    src = open_source(urls[0].rsplit("/", 1)[0] + "/part-*.npy")
    assert src.files == 5
    np.testing.assert_array_equal(np.concatenate(list(src.chunks(16))), P)
    assert src.row(61) == f"{src.name} row 62 ({urls[3]} row 1)"  # part-11 starts at row 61
    np.save(tmp_path / "p.npy", P)
    np.testing.assert_array_equal(read_array(f"file://{tmp_path}/p.npy"), P)  # file:// is a local path, no fsspec
    listing = tmp_path / "list.txt"
    listing.write_text("\n".join(reversed(urls)) + "\n")
    np.testing.assert_array_equal(read_array(f"@{listing}"), P)


def test_memory_url_errors_name_the_url(mem):
    url = mem("p.npy", _npy(P))
    folder = url.rsplit("/", 1)[0]
    cases = {
        folder + "/nope.npy": "does not exist; check the URL",
        folder: "is a folder (prefix), not an object",
        folder + "/x-*.npy": "no file matches",
        "nosuchscheme://bucket/p.npy": "unknown URL scheme nosuchscheme://",
        mem("p.pkl", b"\x80\x04K\x01."): "never unpickles input",
        mem("pickle.npy", b"\x80\x04K\x01."): "holds a Python pickle",
        mem("trunc.npy", _npy(P)[:-8]): "is truncated",
        mem("p.bin", b"1,2\n"): "unknown file type (.bin)",
    }
    for spec, expected in cases.items():
        with pytest.raises(InputError) as e:
            read_array(spec)
        assert expected in str(e.value), (spec, str(e.value))


def test_a_storage_failure_while_reading_is_one_error(mem, monkeypatch):
    """A connection lost after the object was opened is an InputError naming the URL, not a raw OSError."""
    from fsspec.implementations.memory import MemoryFile

    url = mem("p.npy", _npy(P))
    src = open_source(url)

    def reset(self, buffer):
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(MemoryFile, "readinto", reset)
    with pytest.raises(InputError, match=r"^memory://.*/p\.npy cannot be read: the storage endpoint cannot be reached"):
        list(src.chunks(7))


def test_storage_exceptions_become_messages_that_say_what_to_do():
    """Each kind of storage failure gets its own fix; an exception that is not the storage's is left alone."""
    botocore = pytest.importorskip("botocore.exceptions")
    from lossctl.io.remote import failure

    url = "s3://bucket/p.npy"
    denied = botocore.ClientError({"Error": {"Code": "AccessDenied", "Message": "Access Denied"}}, "GetObject")
    cases = [
        (denied, "permission denied (AccessDenied); check that the credentials"),
        (PermissionError("Forbidden"), "permission denied"),
        (
            botocore.NoCredentialsError(),
            "no credentials were found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE",
        ),
        (botocore.EndpointConnectionError(endpoint_url="http://x"), "the storage endpoint"),
        (FileNotFoundError(url), "s3://bucket/p.npy does not exist; check the URL"),
        (botocore.ClientError({"Error": {"Code": "NoSuchBucket"}}, "HeadObject"), "bucket bucket does not exist"),
        (OSError("Service Unavailable"), "cannot be read (OSError: Service Unavailable)"),
        # fsspec's message for an https server that ignores Range headers
        (ValueError("The HTTP server doesn't appear to support range requests."), "without HTTP range requests"),
    ]
    for exc, expected in cases:
        error = failure(exc, url, url)
        assert error is not None and expected in str(error), (exc, error)
        assert "\n" not in str(error)
    assert failure(ValueError("a bug"), url, url) is None  # not hidden behind a storage message
    assert failure(InputError("already one line"), url, url) is None


# --------------------------------------------------------------------------- a real S3-compatible server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3(tmp_path_factory):
    """A moto S3 server on 127.0.0.1 holding the test objects; yields (endpoint, local folder)."""
    pytest.importorskip("s3fs")
    pytest.importorskip("moto.server")
    boto3 = pytest.importorskip("boto3")
    port = _free_port()
    log = tmp_path_factory.mktemp("moto") / "server.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=out
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1).close()  # noqa: S310 - our own server
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto server did not start: {log.read_text()[-2000:]}")
                time.sleep(0.1)
        local = tmp_path_factory.mktemp("local")
        objects = _objects(local)
        with warnings.catch_warnings():  # botocore's own deprecation warnings are not ours
            warnings.simplefilter("ignore")
            client = boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                region_name="us-east-1",
            )
            client.create_bucket(Bucket="bucket")
            for key, data in objects.items():
                client.put_object(Bucket="bucket", Key=key, Body=data)
        yield endpoint, local
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _objects(local) -> dict[str, bytes]:
    """The objects uploaded (and the local files they are compared with)."""
    big = np.random.default_rng(5).random((50 << 20) // 8).reshape(-1, 4)  # 50 MB
    objects = {
        "p.npy": _npy(P),
        "y.npy": _npy(Y),
        "w.npy": _npy(W),
        "p.csv": _csv(P),
        "y.parquet": _parquet(Y),
        "t.safetensors": _safetensors(y_pred=P, y_true=Y),
        "y.jsonl": _jsonl(Y),
        "big.npy": _npy(big),
    }
    cuts = [0, 30, 31, 100, 180, 240]
    for n, (a, b) in zip([1, 2, 10, 11, 20], zip(cuts, cuts[1:], strict=False), strict=True):
        objects[f"preds/part-{n}.npy"] = _npy(P[a:b])
    for name in ("p.npy", "y.npy", "w.npy", "big.npy"):
        (local / name).write_bytes(objects[name])
    return objects


def _env(endpoint: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",  # never ask a cloud metadata service for credentials
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def _lossctl(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lossctl", *args], capture_output=True, text=True, env=env, timeout=120
    )


@pytest.fixture
def aws(s3, monkeypatch):
    """The CLI in this process, pointed at the server through the standard AWS variables; set(**vars) changes them."""
    import s3fs

    endpoint, local = s3

    def point(**extra: str) -> None:
        for k in [k for k in os.environ if k.startswith("AWS_")]:
            monkeypatch.delenv(k)
        for k, v in _env(endpoint, **extra).items():
            if k.startswith("AWS_"):
                monkeypatch.setenv(k, v)
        s3fs.S3FileSystem.clear_instance_cache()  # a filesystem made before reads its settings again

    point()
    yield point, local
    s3fs.S3FileSystem.clear_instance_cache()


def _numbers(out: str) -> dict:
    d = json.loads(out)
    return {
        "shape": d["shape"],
        "conventions": [(c["name"], c.get("value", c.get("summary"))) for c in d["conventions"]],
        "frameworks": [(f["framework"], f["value"]) for f in d["frameworks"]],
    }


def _one_error(proc: subprocess.CompletedProcess, *expected: str) -> None:
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr and "botocore" not in proc.stderr
    for text in expected:
        assert text in lines[0], (text, lines[0])


def _json(cli, *args) -> dict:
    result = cli(*args, "-f", "json")
    assert result.exit_code == 0, (result.stderr, result.exception)
    return _numbers(result.stdout)


@pytest.mark.parametrize(
    "pred,label,extra,local_extra",
    [
        # text, parquet (an id column left behind by column selection), safetensors, JSON lines
        ("s3://bucket/p.csv", "s3://bucket/y.parquet", ["--label-cols", "a,b,c"], []),
        ("s3://bucket/t.safetensors:y_pred", "s3://bucket/y.jsonl", [], []),
        # 5 shards against 1 file, chunked finely: the same numbers as the joined local files, chunked alike
        (
            "s3://bucket/preds/part-*.npy",
            "s3://bucket/t.safetensors:y_true",
            ["--chunk-rows", "7"],
            ["--chunk-rows", "7"],
        ),
        ("s3://bucket/p.npy", "s3://bucket/y.npy", ["-w", "s3://bucket/w.npy"], ["-w", "w.npy"]),
    ],
)
def test_s3_gives_the_numbers_of_the_local_files(aws, cli, pred, label, extra, local_extra):
    _, local = aws
    local_extra = [str(local / a) if a.endswith(".npy") else a for a in local_extra]
    want = _json(cli, "mse", local / "p.npy", local / "y.npy", *local_extra)
    assert _json(cli, "mse", pred, label, *extra) == want


def test_s3_cli_process(s3, cli):
    """The installed command in its own process, configured only by the environment."""
    endpoint, local = s3
    got = _lossctl(["mse", "s3://bucket/p.npy", "s3://bucket/y.npy", "-f", "json"], _env(endpoint))
    assert got.returncode == 0, got.stderr
    assert _numbers(got.stdout) == _json(cli, "mse", local / "p.npy", local / "y.npy")
    missing = _lossctl(["mse", "s3://bucket/missing.npy", "s3://bucket/y.npy"], _env(endpoint))
    _one_error(missing, "s3://bucket/missing.npy does not exist")


def test_https_presigned_url(s3, cli):
    """A presigned URL over HTTP (fsspec's HTTP support): ranged reads, its extension before the query, no secret shown."""
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("aiohttp")
    endpoint, local = s3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        url = client.generate_presigned_url("get_object", Params={"Bucket": "bucket", "Key": "p.npy"}, ExpiresIn=600)
    assert url.startswith("http://127.0.0.1:") and "?" in url
    assert _json(cli, "mse", url, local / "y.npy") == _json(cli, "mse", local / "p.npy", local / "y.npy")
    missing = cli("mse", url.replace("/p.npy?", "/gone.npy?"), local / "y.npy")
    assert missing.exit_code == 2 and "Signature" not in missing.stderr and "/gone.npy?…" in missing.stderr


def test_s3_check_reads_objects_and_object_globs(aws, cli):
    """``lossctl check`` takes URLs too: a glob over objects is one check per object, like a local glob."""
    _, local = aws
    result = cli(
        "check",
        "mse",
        "s3://bucket/preds/part-1*.npy",
        "s3://bucket/p.npy",
        "--labels",
        "s3://bucket/y.npy",
        "-f",
        "json",
    )
    rows = json.loads(result.stdout)["results"]
    assert [r["file"] for r in rows] == [
        "s3://bucket/preds/part-1.npy",
        "s3://bucket/preds/part-10.npy",
        "s3://bucket/preds/part-11.npy",
        "s3://bucket/p.npy",
    ]
    # the part files have fewer rows than the labels: refused per check; the whole file passes with the local value
    assert [r["status"] for r in rows] == ["error", "error", "error", "pass"], rows
    assert rows[3]["value"] == _json(cli, "mse", local / "p.npy", local / "y.npy", "-c", "mean")["conventions"][0][1]
    missing = cli("check", "mse", "s3://bucket/none-*.npy", "--labels", "s3://bucket/y.npy", "-f", "json")
    assert (
        json.loads(missing.stdout)["results"][0]["message"]
        == "no files match s3://bucket/none-*.npy; check the pattern"
    )


_COUNTED = """
import json, runpy, sys
import s3fs.core

fetched = []
fetch = s3fs.core.S3File._fetch_range


def counted(self, start, end):
    fetched.append(end - start)
    return fetch(self, start, end)


s3fs.core.S3File._fetch_range = counted
sys.argv = ["lossctl", *sys.argv[1:]]
try:
    runpy.run_module("lossctl", run_name="__main__")
except SystemExit as e:
    assert not e.code, e.code
print(json.dumps(fetched), file=sys.stderr)
"""


def test_s3_reads_are_ranged(s3, cli):
    """A 50 MB object is fetched in ranges of a few MB, each byte about once, never whole."""
    endpoint, local = s3
    args = ["--pred-cols", "0,1", "--label-cols", "2,3", "-c", "sum", "--chunk-rows", "4096", "-f", "json"]
    proc = subprocess.run(
        [sys.executable, "-c", _COUNTED, "mse", "s3://bucket/big.npy", *args],
        capture_output=True,
        text=True,
        env=_env(endpoint),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    fetched = json.loads(proc.stderr.strip().splitlines()[-1])
    size = (local / "big.npy").stat().st_size
    assert size > 50_000_000
    # a request is one read-ahead block (4 MB) plus what the reader asked for (a 128 kB chunk): s3fs alone
    # would fetch 50 MB blocks, and reading the object whole one 50 MB range
    assert max(fetched) <= (4 << 20) + 4096 * 4 * 8, max(fetched)
    assert size <= sum(fetched) < 1.2 * size, (sum(fetched), size)  # each byte about once (the header twice)
    assert _numbers(proc.stdout) == _json(cli, "mse", local / "big.npy", *args[:-2])


def test_s3_errors_are_one_line(aws, cli):
    point, _ = aws
    from tests.conftest import assert_error

    assert_error(cli("mse", "s3://bucket/missing.npy", "s3://bucket/y.npy"), "s3://bucket/missing.npy does not exist")
    assert_error(
        cli("mse", "s3://bucket/p.npy", "s3://no-such-bucket/y.npy"),
        "s3://no-such-bucket/y.npy",
        "bucket no-such-bucket does not exist",
    )
    assert_error(cli("mse", "s3://bucket/nothing-*.npy", "s3://bucket/y.npy"), "no file matches s3://bucket/nothing-*")
    assert_error(cli("mse", "s3://bucket", "s3://bucket/y.npy"), "s3://bucket is a folder")
    point(AWS_ACCESS_KEY_ID="", AWS_SECRET_ACCESS_KEY="")
    assert_error(
        cli("mse", "s3://bucket/p.npy", "s3://bucket/y.npy"),
        "s3://bucket/p.npy",
        "no credentials",
        "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE",
    )
    point(AWS_ENDPOINT_URL=f"http://127.0.0.1:{_free_port()}", AWS_MAX_ATTEMPTS="1")
    assert_error(cli("mse", "s3://bucket/p.npy", "s3://bucket/y.npy"), "cannot be reached", "AWS_ENDPOINT_URL")


def test_without_the_extra_a_url_says_how_to_install_it(tmp_path):
    """With fsspec not importable, a URL is one line naming the extra (and a local file still works)."""
    probe = "import runpy, sys; sys.modules['fsspec'] = None; sys.argv = ['lossctl', *sys.argv[1:]]; " + (
        "runpy.run_module('lossctl', run_name='__main__')"
    )
    np.save(tmp_path / "y.npy", Y)
    proc = subprocess.run(
        [sys.executable, "-c", probe, "mse", "s3://bucket/p.npy", str(tmp_path / "y.npy")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    _one_error(proc, "s3://bucket/p.npy", "needs fsspec", "pip install 'lossctl[cloud]'")
    ok = subprocess.run(
        [sys.executable, "-c", probe, "mse", str(tmp_path / "y.npy"), str(tmp_path / "y.npy"), "-f", "json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
