"""What PyTorch, Keras and scikit-learn report, as a table of facts.

Each loss lists its :class:`Framework` entries next to its term function (see
:mod:`lossctl.losses`). An entry says which API it is, the exact Python
expression that reproduces the number (``call``), and how to compute that
number here without importing the framework: a per-sample contribution
``per_sample(chunk, params)`` (the framework's own epsilons, clipping and inner
axis included) and the outer divisor (N, or with weights ``weighted_divisor``).

The ``call`` expressions are evaluated by the test suite against the real
frameworks with ``np``, ``torch``, ``keras``, ``sklearn``, ``y_pred``, ``y_true``
and ``sample_weight`` in scope; ``{delta}``-style fields are filled from
:class:`~lossctl.losses.Params`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

import numpy as np

from .chunk import Chunk
from .params import Params

FRAMEWORKS = ("pytorch", "keras", "sklearn", "numpy")

#: Keras's backend epsilon (``keras.config.epsilon()``), as Keras holds it in float32.
KERAS_EPS = float(np.float32(1e-7))
#: ``1 - epsilon`` computed in float32, as Keras's clip bound: 1 - 1.19e-7, not 1 - 1e-7.
KERAS_ONE_MINUS_EPS = float(np.float32(1.0) - np.float32(1e-7))
#: scikit-learn clips probabilities and divides at the machine epsilon of float64.
SKLEARN_EPS = float(np.finfo(np.float64).eps)


def as_float32(chunk: Chunk) -> Chunk:
    """The chunk as Keras sees it: Keras casts inputs (and weights) to float32 first."""

    def f32(a: np.ndarray | None) -> np.ndarray | None:
        if a is None or a.dtype.kind in "iu":
            return a
        return a.astype(np.float32).astype(np.float64)

    return Chunk(f32(chunk.y_pred), f32(chunk.y_true), f32(chunk.weights), chunk.start)


def torch_array(name: str) -> str:
    """``torch.from_numpy(name)``: how the calls hand numpy arrays to PyTorch."""
    return f"torch.from_numpy({name})"


#: PyTorch's elementwise weight: each sample's weight repeated across its K outputs
TORCH_WEIGHT = "weight=torch.from_numpy(sample_weight)[:, None].expand(y_pred.shape)"
#: the end of a Keras call with per-sample weights
KERAS_SAMPLE_WEIGHT = ", sample_weight=sample_weight)"


def _floats(values: tuple[float, ...]) -> str:
    return "[" + ", ".join(repr(float(v)) for v in values) + "]"


def call_fragments(params: Params) -> dict[str, str]:
    """The option arguments a ``call`` template inserts, empty when an option is at its default.

    ``{torch_ce}``: CrossEntropyLoss/NLLLoss's ``, weight=…, ignore_index=…, label_smoothing=…``;
    ``{torch_weight}``: ``, weight=…`` alone (BCE: per output column); ``{torch_pos_weight}``: ``, pos_weight=…``;
    ``{keras_ls}``/``{keras_ls_only}``: Keras's ``label_smoothing=…`` after other arguments or alone;
    ``{keras_ignore}``/``{keras_ignore_only}``: ``ignore_class=…``; ``{torch_cw_mul}``: `` * class weights``; ``{torch_log_target}``, ``{torch_full}``: PyTorch's flags.
    """
    like = ".to(torch.from_numpy(y_pred))"  # the predictions' dtype
    weight = f", weight=torch.tensor({_floats(params.class_weights)}){like}" if params.class_weights else ""
    ignore = f", ignore_index={params.ignore_index}" if params.ignore_index is not None else ""
    smoothing = f"label_smoothing={params.label_smoothing!r}" if params.label_smoothing else ""
    return {
        "torch_ce": weight + ignore + (", " + smoothing if smoothing else ""),
        "torch_weight": weight,
        "torch_cw_mul": f" * torch.tensor({_floats(params.class_weights)}){like}" if params.class_weights else "",
        "torch_pos_weight": f", pos_weight=torch.tensor({_floats(params.pos_weight)}){like}"
        if params.pos_weight
        else "",
        "keras_ls": ", " + smoothing if smoothing else "",
        "keras_ls_only": smoothing,
        "keras_ignore": f", ignore_class={params.ignore_index}" if params.ignore_index is not None else "",
        "keras_ignore_only": f"ignore_class={params.ignore_index}" if params.ignore_index is not None else "",
        "torch_log_target": ", log_target=True" if params.log_target else "",
        "torch_full": ", full=True" if params.full else "",
    }


#: ``Framework(per_sample=OWN)``: the framework's per-sample value is the loss's own ``l_i`` (the
#: same formula and inner reduction, no epsilon), so it comes from the totals at no extra cost
OWN = "own"


@dataclass(frozen=True)
class Framework:
    """One framework's default value for one loss, and the call that reproduces it."""

    framework: str
    api: str
    call: str
    per_sample: Callable[[Chunk, Params], np.ndarray] | str  # or OWN
    convention: str | None
    note: str = ""
    weighted_call: str | None = None
    weighted_divisor: Literal["N", "sum(w)"] = "N"
    #: whether this entry applies, given the params and the number of outputs K
    when: Callable[[Params, int], bool] | None = None
    float32: bool = False
    #: with --class-weights the framework divides by Σ w[y] (PyTorch CrossEntropyLoss/NLLLoss on class indices)
    class_divisor: bool = False
    #: a value computed from the totals rather than from per-sample sums (scikit-learn's mean of per-output
    #: roots); the entry then has no per-sample contributions
    from_totals: Callable | None = None
    #: with ``reduce="columns"``: applied to each column's mean before the mean over columns (np.sqrt: RMSE)
    per_column: Callable | None = None
    #: how the framework reduces: ``"samples"``, a mean of per-sample values; ``"columns"``, scikit-learn's
    #: regression metrics, the mean over outputs of each output's mean over samples (``np.average`` along
    #: axis 0), whose float32 order :class:`~lossctl.emulate.ColumnMean32` reproduces. A callable
    #: ``per_sample`` of a ``"columns"`` entry returns the element terms ``(n, K)``.
    reduce: Literal["samples", "columns"] = "samples"
    #: the note when the value is not finite: what the real framework does there (raises, or returns inf/nan)
    nonfinite_note: str = ""

    def applies(self, params: Params, weighted: bool, n_outputs: int) -> bool:
        if weighted and self.weighted_call is None:
            return False
        return self.when is None or self.when(params, n_outputs)

    def declared(self, weighted: bool, params: Params | None = None) -> str | None:
        """The convention this entry's value equals, as declared: with weights, Σ w·l over N or over Σw;
        with class weights, Σ e over Σ w[y] for the entries that divide so."""
        if self.convention is None:
            return None
        if self.class_divisor and params is not None and params.class_weights is not None:
            return "class_weighted_mean"
        if not weighted:
            return self.convention
        return {"N": "weighted_batch_mean", "sum(w)": "weighted_mean"}[self.weighted_divisor]

    def render_call(self, params: Params, weighted: bool) -> str:
        template = self.weighted_call if weighted else self.call
        assert template is not None
        return template.format(**asdict(params), **call_fragments(params))

    def contributions(self, chunk: Chunk, params: Params) -> np.ndarray:
        """Per-sample contributions (n,) to the framework's sum, weights applied."""
        assert callable(self.per_sample), "OWN entries are computed from the loss's own values"
        if self.float32:
            chunk = as_float32(chunk)
        with np.errstate(all="ignore"):
            values = np.asarray(self.per_sample(chunk, params), dtype=np.float64)
            if self.reduce == "columns":
                values = np.mean(values, axis=1)
            if chunk.weights is not None:
                values = values * chunk.weights
        return values

    @property
    def rtol(self) -> float:
        """How closely the real framework reproduces this value (Keras computes in float32)."""
        return 2e-6 if self.float32 else 1e-12

    @property
    def atol(self) -> float:
        """Absolute slack for values near 0: float32 logs carry ~1e-7 absolute error."""
        return 2e-7 if self.float32 else 1e-15

    def tolerance(self, dtype: str = "float64") -> tuple[float, float]:
        """``(rtol, atol)`` to which the real framework reproduces this value on arrays of ``dtype``.

        On float32 files scikit-learn is reproduced to 1e-6 (bit for bit where it reduces by columns),
        PyTorch and NumPy to 2e-6 (their float32 sums are not bit-reproducible), Keras as always.
        """
        if self.float32 or dtype != "float32":
            return self.rtol, self.atol
        return (1e-6 if self.framework == "sklearn" else 2e-6), 2e-7
