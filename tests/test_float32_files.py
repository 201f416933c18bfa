"""Float32 files end to end: each framework row is what the framework returns on the arrays in their file dtype.

The oracles are the real frameworks called on the float32 arrays loaded from the same
``.npy`` files (scikit-learn bit for bit, PyTorch to its rtol 2e-6); the conventions stay
the float64 values of the numbers as read.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

N_ROWS, N_OUT = 300_000, 10


@pytest.fixture(scope="module")
def float32_pair(tmp_path_factory):
    """Predictions and labels, float32, large enough that float32 accumulation moves scikit-learn's mean."""
    rng = np.random.default_rng(2026)
    y_pred = rng.normal(size=(N_ROWS, N_OUT)).astype(np.float32)
    y_true = (y_pred + rng.normal(scale=0.1, size=y_pred.shape)).astype(np.float32)
    folder = tmp_path_factory.mktemp("f32")
    np.save(folder / "p.npy", y_pred)
    np.save(folder / "y.npy", y_true)
    return folder / "p.npy", folder / "y.npy", y_pred, y_true


def _rows(result) -> dict[str, dict]:
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    return doc, {f["framework"]: f for f in doc["frameworks"]}


@pytest.mark.parametrize(("loss", "metric"), [("mse", "mean_squared_error"), ("mae", "mean_absolute_error")])
def test_sklearn_row_is_sklearn_on_the_float32_arrays(cli, float32_pair, loss, metric):
    import sklearn.metrics
    import torch

    p_path, y_path, y_pred, y_true = float32_pair
    doc, rows = _rows(cli(loss, p_path, y_path, "-f", "json", "--chunk-rows", "50000"))
    real = getattr(sklearn.metrics, metric)(y_true, y_pred)
    mean = next(c for c in doc["conventions"] if c["name"] == "mean")["value"]
    f64 = getattr(sklearn.metrics, metric)(y_true.astype(np.float64), y_pred.astype(np.float64))
    assert mean == pytest.approx(f64, rel=1e-12)  # the convention is the float64 value of the numbers read
    assert abs(real - mean) / mean > 1e-6  # float32 accumulation shows at this size (far above 1e-12)
    assert rows["sklearn"]["value"] == real  # bit for bit
    assert rows["sklearn"]["convention"] == "mean"
    assert rows["sklearn"]["note"].startswith("float32 accumulation: differs from mean by ")
    torch_fn = {"mse": torch.nn.functional.mse_loss, "mae": torch.nn.functional.l1_loss}[loss]
    real_torch = float(torch_fn(torch.from_numpy(y_pred), torch.from_numpy(y_true)))
    assert rows["pytorch"]["value"] == pytest.approx(real_torch, rel=2e-6)
    assert rows["pytorch"]["convention"] == "mean"


def test_float64_files_keep_float64_framework_values(cli, float32_pair, tmp_path):
    import sklearn.metrics

    _, _, y_pred, y_true = float32_pair
    np.save(tmp_path / "p.npy", y_pred[:1000].astype(np.float64))
    np.save(tmp_path / "y.npy", y_true[:1000].astype(np.float64))
    _, rows = _rows(cli("mse", tmp_path / "p.npy", tmp_path / "y.npy", "-f", "json"))
    real = sklearn.metrics.mean_squared_error(y_true[:1000].astype(np.float64), y_pred[:1000].astype(np.float64))
    assert rows["sklearn"]["value"] == pytest.approx(real, rel=1e-13)
    assert "float32" not in (rows["sklearn"].get("note") or "")


@pytest.mark.parametrize(("dtype", "expected"), [(np.float32, 15.942385), (np.float64, 36.043653)])
def test_log_loss_clips_at_the_epsilon_of_the_file_dtype(cli, tmp_path, dtype, expected):
    """Hard wrong predictions: log_loss's clip is finfo(dtype).eps, so −log(1.19e-7) vs −log(2.2e-16) (hand)."""
    import sklearn.metrics

    y_pred, y_true = np.array([[0.0], [1.0]], dtype=dtype), np.array([[1.0], [0.0]], dtype=dtype)
    np.save(tmp_path / "p.npy", y_pred)
    np.save(tmp_path / "y.npy", y_true)
    _, rows = _rows(cli("bce", tmp_path / "p.npy", tmp_path / "y.npy", "-f", "json"))
    real = sklearn.metrics.log_loss(y_true[:, 0], y_pred[:, 0], labels=[0, 1])
    assert real == pytest.approx(expected, rel=1e-6)
    assert rows["sklearn"]["value"] == pytest.approx(real, rel=1e-6)
