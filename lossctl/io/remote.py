"""Remote inputs: fsspec URLs (``s3://bucket/key.npy``, ``gs://…``, ``https://…``, ``memory://…``).

A URL is opened through fsspec (optional extra ``lossctl[cloud]``: fsspec and
s3fs; ``gs://`` needs gcsfs, ``https://`` aiohttp). Nothing downloads a whole
object first: the readers seek in and read from the fsspec file object, which
fetches byte ranges (a block at a time) as they are read.

A :class:`Remote` is the URL as a ``str`` (so the readers' extension checks
see it unchanged) that also knows its filesystem, path and size; the readers
open every input through :func:`open_rb`, which opens a ``Remote`` through
fsspec and a local path with ``open``. fsspec is imported only when a URL is
opened, never by a plain local run.

Errors from the storage (a missing object or bucket, no credentials, access
denied, an unreachable endpoint) become one :class:`InputError` naming the URL
(:func:`failure`); no botocore traceback reaches the user.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

import numpy as np

from ..errors import InputError, LossctlError
from ..errors import name as shown_name
from .source import Source

#: ``scheme://`` with a scheme of two letters or more (``C:\\`` or ``C://`` is a Windows drive, not a URL)
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
#: scheme -> what to install for it
_PACKAGES = {
    "s3": "pip install 'lossctl[cloud]'",
    "s3a": "pip install 'lossctl[cloud]'",
    "gs": "pip install 'lossctl[cloud]' gcsfs",
    "gcs": "pip install 'lossctl[cloud]' gcsfs",
    "http": "pip install 'lossctl[cloud]' aiohttp",
    "https": "pip install 'lossctl[cloud]' aiohttp",
    "az": "pip install 'lossctl[cloud]' adlfs",
    "abfs": "pip install 'lossctl[cloud]' adlfs",
}
_CREDENTIALS = {
    "s3": "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE",
    "gs": "set GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth application-default login",
}
#: bytes read ahead per request (fsspec's default; s3fs's own 50 MB would fetch a mid-sized object whole)
READ_BLOCK_BYTES = 4 << 20
#: modules whose exceptions are the storage's, translated by :func:`failure`
_STORAGE_MODULES = ("botocore", "aiobotocore", "s3fs", "fsspec", "aiohttp", "gcsfs", "google", "adlfs", "azure")


def is_url(spec: str) -> bool:
    """Whether ``spec`` is a URL (``scheme://…``), not a local path or a Windows drive letter.

    >>> is_url("s3://bucket/p.npy"), is_url("C://data/p.npy"), is_url("p.npy"), is_url("memory://x.csv")
    (True, False, False, True)
    """
    return _URL.match(spec) is not None


def scheme(url: str) -> str:
    m = _URL.match(url)
    return m.group(1).lower() if m else ""


def local_path(url: str) -> str | None:
    """The local path of a ``file://`` URL (read without fsspec); None for any other URL."""
    if scheme(url) == "file":
        return url[len("file://") :]
    return None


def display(url: str) -> str:
    """``url`` as safe to show: no password, no query string (presigned URLs carry secrets there), escaped.

    >>> display("https://me:secret@host/p.npy?X-Amz-Signature=abc")
    'https://me@host/p.npy?…'
    """
    url = re.sub(r"^([A-Za-z][A-Za-z0-9+.-]+://[^/@:]*):[^/@]*@", r"\1@", url)
    if "?" in url:
        url = url[: url.index("?")] + "?…"
    return shown_name(url)


def url_path(spec: str) -> str:
    """``spec`` without a URL's query string or fragment (a local path is returned as it is).

    >>> url_path("https://host/p.npy?X-Amz-Signature=abc"), url_path("odd?name.csv")
    ('https://host/p.npy', 'odd?name.csv')
    """
    return re.split(r"[?#]", spec, maxsplit=1)[0] if is_url(spec) else spec


class Remote(str):
    """A URL (the ``str`` value) with the fsspec filesystem and path that read it."""

    fs: object
    path: str
    size: int | None
    shown: str

    def __new__(cls, url: str, fs: object, path: str, size: int | None, shown: str) -> Remote:
        self = super().__new__(cls, url)
        self.fs, self.path, self.size, self.shown = fs, path, size, shown
        return self

    def open(self) -> IO[bytes]:
        """A binary file object that reads byte ranges as they are needed."""
        with storage_errors(self, self.shown):
            return self.fs.open(self.path, "rb", block_size=READ_BLOCK_BYTES)  # type: ignore[attr-defined]


def open_rb(path: str) -> IO[bytes]:
    """Open ``path`` (a local path or a :class:`Remote`) for binary reading."""
    return path.open() if isinstance(path, Remote) else open(path, "rb")  # noqa: SIM115 - the caller closes it


def file_or_path(path: str) -> str | IO[bytes]:
    """What libraries that take a path or a file object (zipfile, h5py) should get: a file object for a URL."""
    return path.open() if isinstance(path, Remote) else path


def size_of(f: IO[bytes]) -> int:
    """The size in bytes of the open file ``f`` (a local file, or a remote one that knows its size)."""
    try:
        return os.fstat(f.fileno()).st_size
    except (OSError, AttributeError):  # io.UnsupportedOperation is an OSError
        size = getattr(f, "size", None)
        if isinstance(size, int):
            return size
        here = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(here)
        return end


def _filesystem(url: str, shown: str):
    """(fsspec filesystem, path inside it) for ``url``; refuses a URL whose package is missing."""
    proto = scheme(url)
    install = _PACKAGES.get(proto, "pip install 'lossctl[cloud]'")
    try:
        import fsspec
        from fsspec.core import url_to_fs
    except ImportError:
        raise InputError(f"reading {shown} needs fsspec, which is not installed: {install}") from None
    try:
        return url_to_fs(url)
    except ImportError as e:
        raise InputError(f"reading {shown} needs a package that is not installed ({e}): {install}") from None
    except ValueError as e:
        if proto not in fsspec.available_protocols():
            raise InputError(
                f"{shown} has an unknown URL scheme {proto}://; give a local path or an s3://, gs:// or https:// URL"
            ) from None
        raise InputError(f"{shown} is not a valid {proto}:// URL ({e}); check it") from None


def locate(url: str) -> Remote:
    """Find the object ``url`` names: its filesystem, path and size (one metadata request)."""
    shown = display(url)
    fs, path = _filesystem(url, shown)
    with storage_errors(url, shown):
        info = fs.info(path)
    if info.get("type") == "directory":
        raise InputError(f"{shown} is a folder (prefix), not an object; give one file, or a glob such as {shown}/*.npy")
    size = info.get("size")
    return Remote(url, fs, path, size if isinstance(size, int) else None, shown)


def glob(pattern: str) -> list[str]:
    """The URLs of the objects a URL glob (``s3://bucket/preds/part-*.npy``) matches (unsorted)."""
    shown = display(pattern)
    fs, path = _filesystem(pattern, shown)
    with storage_errors(pattern, shown):
        found = fs.glob(path, detail=True)
    return [fs.unstrip_protocol(p) for p, info in found.items() if info.get("type") != "directory"]


def _code(e: BaseException) -> str:
    """The storage's error code (``NoSuchBucket``, ``AccessDenied``…) where the exception carries one."""
    for err in (e, e.__cause__, e.__context__):
        response = getattr(err, "response", None)
        if isinstance(response, dict):
            return str(response.get("Error", {}).get("Code", ""))
    return ""


def _is_storage(e: BaseException) -> bool:
    return isinstance(e, OSError | TimeoutError | ImportError) or type(e).__module__.split(".")[0] in _STORAGE_MODULES


def failure(e: BaseException, url: str, shown: str) -> InputError | None:
    """The one-line error for a storage exception ``e`` while reading ``url``; None if ``e`` is not the storage's."""
    proto = scheme(url)
    if isinstance(e, ValueError) and "range requests" in str(e):  # fsspec's HTTP file on a server without ranges
        return InputError(
            f"{shown} is served without HTTP range requests, which lossctl needs to read it in parts; "
            "download it first, or serve it from a server that supports ranges"
        )
    if isinstance(e, LossctlError) or not _is_storage(e):
        return None
    kind, code, text = type(e).__name__, _code(e), str(e).splitlines()[0][:200] if str(e) else type(e).__name__
    if kind in ("NoCredentialsError", "PartialCredentialsError", "NoAuthTokenError") or "credentials" in text.lower():
        how = _CREDENTIALS.get(proto, "configure the credentials for this storage")
        return InputError(f"{shown} cannot be read: no credentials were found; {how}")
    if code == "NoSuchBucket" or "bucket does not exist" in text.lower():
        bucket = url.split("://", 1)[1].split("/", 1)[0]
        return InputError(f"{shown} cannot be read: bucket {shown_name(bucket)} does not exist; check the URL")
    if isinstance(e, FileNotFoundError) or code in ("NoSuchKey", "404", "NotFound"):
        hint = " (list the bucket to see its objects)" if proto in ("s3", "s3a", "gs", "gcs") else ""
        return InputError(f"{shown} does not exist; check the URL{hint}")
    if isinstance(e, PermissionError) or code in ("AccessDenied", "403", "InvalidAccessKeyId", "SignatureDoesNotMatch"):
        return InputError(
            f"{shown} cannot be read: permission denied ({code or text}); check that the credentials "
            "(AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) may read this object"
        )
    if kind in ("EndpointConnectionError", "ConnectTimeoutError", "ClientConnectorError", "ConnectionError") or (
        isinstance(e, ConnectionError | TimeoutError)
    ):
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        where = f" at {shown_name(endpoint)} (AWS_ENDPOINT_URL)" if endpoint and proto in ("s3", "s3a") else ""
        return InputError(
            f"{shown} cannot be read: the storage endpoint{where} cannot be reached; check the network "
            "and the endpoint URL"
        )
    if isinstance(e, ImportError):
        return InputError(f"reading {shown} needs a package that is not installed ({text}): {_PACKAGES.get(proto, '')}")
    return InputError(f"{shown} cannot be read ({kind}: {shown_name(text)}); check the URL and the storage")


@contextmanager
def storage_errors(url: str, shown: str) -> Iterator[None]:
    """Turn the storage's exceptions (see :func:`failure`) raised inside the block into one :class:`InputError`."""
    try:
        yield
    except Exception as e:
        error = failure(e, url, shown)
        if error is None:
            raise
        raise error from None


def _translated(chunks: Iterator[np.ndarray], url: str, shown: str) -> Iterator[np.ndarray]:
    with storage_errors(url, shown):
        yield from chunks


def guarded(src: Source, url: str) -> Source:
    """``src`` (read from ``url``) whose chunks and projections turn storage errors into :class:`InputError`."""
    shown = display(url)
    inner, project = src._chunks, src.project
    src._chunks = lambda rows: _translated(inner(rows), url, shown)
    if project is not None:
        src.project = lambda indices: guarded(project(indices), url)  # type: ignore[arg-type]
    return src


__all__ = [
    "Remote",
    "display",
    "failure",
    "file_or_path",
    "glob",
    "guarded",
    "is_url",
    "locate",
    "open_rb",
    "size_of",
    "storage_errors",
    "url_path",
]
