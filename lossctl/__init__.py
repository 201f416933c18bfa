"""lossctl: every averaging convention of a loss, side by side, and what each framework reports."""

#: public names -> the module that defines them, imported on first use (PEP 562): `python -m lossctl`
#: and the console script install their signal guard before numpy and the rest are imported
_LAZY = {
    "evaluate": ".api",
    "to_frame": ".api",
    "Report": ".compute",
    "compute": ".compute",
    "read_array": ".io",
    "LOSSES": ".losses",
    "Params": ".losses",
    "get_loss": ".losses",
}


def __getattr__(name: str):
    if name == "__version__":  # importlib.metadata is slow to import: looked up when first asked for
        from ._version import __version__

        globals()["__version__"] = __version__
        return __version__
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY, "__version__"])


__all__ = ["LOSSES", "Params", "Report", "__version__", "compute", "evaluate", "get_loss", "read_array", "to_frame"]
