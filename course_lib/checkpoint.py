"""Checkpoints: a model's weights in `name.npz` and its config (+ training record) in `name.json`.

The pair is written by `save_checkpoint` and read back, checked against the config, by
`load_checkpoint`; `Transformer.save` and `Transformer.load` call them.

>>> save_checkpoint("runs/tiny", {"n_layer": 1}, {"w": np.zeros(2)}, {"steps": 7})  # doctest: +SKIP
>>> shapes = lambda config: {"w": (2,)}
>>> config, params, metadata = load_checkpoint("runs/tiny", dict, shapes)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np

from .checks import check_shape

CHECKPOINT_FORMAT = "llm-foundations/transformer"


def checkpoint_files(path) -> tuple[Path, Path]:
    """The (weights .npz, config .json) pair of a checkpoint; `path` may end in .npz, .json or
    neither."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix in (".npz", ".json") else path
    return base.with_name(base.name + ".npz"), base.with_name(base.name + ".json")


def save_checkpoint(path, config: dict, params: dict, metadata: dict) -> None:
    """Write params (name -> array) to `path.npz` and config + metadata (JSON-ready) to
    `path.json`."""
    npz_path, json_path = checkpoint_files(path)
    dtype = str(next(iter(params.values())).dtype)
    header = {"format": CHECKPOINT_FORMAT, "config": config, "dtype": dtype,
              "metadata": metadata}  # fmt: skip
    try:
        text = json.dumps(header, indent=2)
    except TypeError as err:
        raise TypeError(f"metadata must be JSON-serialisable: {err}") from None
    npz_path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(npz_path, **params)
    json_path.write_text(text + "\n", encoding="utf-8")


def load_checkpoint(path, make_config, param_shapes) -> tuple[object, dict, dict]:
    """Read a checkpoint written by `save_checkpoint`: (config, params, metadata).

    make_config(dict) builds the config (raising TypeError/ValueError for a bad one) and
    param_shapes(config) gives the name -> shape every weight must have; params come back in that
    order. Raises FileNotFoundError for a missing file and ValueError for a corrupt checkpoint or
    one whose weights do not match its config.
    """
    npz_path, json_path = checkpoint_files(path)
    for file in (json_path, npz_path):
        if not file.exists():
            raise FileNotFoundError(
                f"checkpoint file {file} is missing: a checkpoint is a pair "
                f"{npz_path.name} (weights) + {json_path.name} (config)"
            )
    try:
        header = json.loads(json_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{json_path} is not valid JSON ({err})") from None
    if not isinstance(header, dict) or not isinstance(header.get("config"), dict):
        raise ValueError(f"{json_path} must hold a JSON object with a 'config' object")
    try:
        config = make_config(header["config"])
    except (TypeError, ValueError) as err:
        raise ValueError(f"{json_path} has an invalid config: {err}") from None
    metadata = header.get("metadata", {})
    if not isinstance(metadata, dict):
        raise ValueError(f"{json_path}: 'metadata' must be an object, got {metadata!r}")
    try:
        with np.load(npz_path, allow_pickle=False) as archive:
            params = {name: archive[name] for name in archive.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ValueError(f"{npz_path} is not a readable .npz weights file ({err})") from None
    expected = param_shapes(config)
    missing = [name for name in expected if name not in params]
    unexpected = sorted(set(params) - set(expected))
    if missing or unexpected:
        raise ValueError(
            f"{npz_path} does not match its config: missing weights {missing}, "
            f"unexpected weights {unexpected}"
        )
    dtypes = {p.dtype for p in params.values()}
    if len(dtypes) != 1 or not np.issubdtype(next(iter(dtypes)), np.floating):
        raise ValueError(f"{npz_path}: weights must share one float dtype, got {dtypes}")
    for name, shape in expected.items():
        check_shape(params[name], shape, f"{npz_path}: weight {name!r}", "what the config expects")
    return config, {name: params[name] for name in expected}, metadata
