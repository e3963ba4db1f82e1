"""Export the heatmap model (the generator) of a config to ONNX and check it.

The graph is the backbone (+ neck) and head forward of the top-down pose
estimator, with a dynamic batch axis::

    input     (N, 3, H, W)  float32, already normalised
    heatmaps  (N, K, h, w)  float32, the last stage's heatmaps

(H, W) is the codec's ``input_size``.  An HRGAN config
(``AdversarialTopdownPoseEstimator``) exports its generator only: the
discriminator and ``k_t`` are not in the graph.  For a multi-stage head (the
stacked hourglass's ``CPMHead``) only the last stack's heatmaps are output.

NOT in the graph: the data preprocessor (BGR->RGB and the mean/std
normalisation, printed by this tool from the config so the caller can apply
them), the top-down affine crop, flip test and heatmap decoding.

By default the export is verified: ONNX Runtime (CPU) and PyTorch run the same
random input at batch 1 and ``--batch``, and the tool exits 1 if the heatmaps
differ by more than ``--atol`` (the ONNX file is kept for inspection).  Then
both are timed on CPU at batch 1, interleaved, for ``--iters`` iterations
after ``--warmup`` (``--iters 0`` skips timing)::

    python tools/export_onnx.py configs/hrnet_w32_coco_256x192.py \
        work_dirs/hrnet/best.pth hrnet_w32.onnx --json hrnet_w32_onnx.json

Bad input (a missing config or checkpoint, a checkpoint whose weights do not
fit the config) gives one ``error:`` line and exit status 2.  Only the
generator's weights are compared, so an HRGAN checkpoint also exports with
the plain HRNet config of its generator.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import os.path as osp
import statistics
import sys
import time
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmpose.apis import init_model

import hrgan_plugin  # noqa: F401  (registers modules; lets torch's safe loader read checkpoints)
from hrgan_plugin.utils.checkpoint_match import GAN_ONLY, CheckpointError, load_matching_weights

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

MAX_OPSET = 20  # the TorchScript exporter's highest opset in torch 2.13


class ConfigProblem(ValueError):
    """The config lacks something the export needs."""


class HeatmapGenerator(nn.Module):
    """Backbone (+ neck) + head forward of a top-down estimator, returning the
    last stage's heatmaps; the modules are shared with ``model``."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.backbone = model.backbone
        self.neck = model.neck if model.with_neck else None
        self.head = model.head

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        feats = self.backbone(inputs)
        if self.neck is not None:
            feats = self.neck(feats)
        heatmaps = self.head(feats)
        return heatmaps[-1] if isinstance(heatmaps, (list, tuple)) else heatmaps


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='model config (.py)')
    parser.add_argument('checkpoint', help='checkpoint (.pth) matching the config')
    parser.add_argument('out', help='output ONNX file')
    parser.add_argument('--opset', type=int, default=17, help=f'ONNX opset (9-{MAX_OPSET})')
    parser.add_argument('--batch', type=int, default=2,
                        help='second batch size verified (besides 1)')
    parser.add_argument('--iters', type=int, default=10,
                        help='timed iterations at batch 1 (0: no timing)')
    parser.add_argument('--warmup', type=int, default=3, help='untimed iterations first')
    parser.add_argument('--no-verify', action='store_true',
                        help='do not compare ONNX Runtime with PyTorch')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest allowed max abs difference of the heatmaps')
    parser.add_argument('--json', help='write the figures to this JSON file')
    args = parser.parse_args()
    if not 9 <= args.opset <= MAX_OPSET:
        parser.error(f'--opset must lie in 9-{MAX_OPSET}, got {args.opset}')
    if args.batch < 1 or args.iters < 0 or args.warmup < 0:
        parser.error('--batch must be >= 1, --iters and --warmup >= 0')
    return args


def input_size(cfg: Config) -> tuple[int, int]:
    """The codec's ``(W, H)``: ``cfg.codec.input_size`` or the head decoder's."""
    codec = cfg.get('codec') or cfg.model.get('head', {}).get('decoder') or {}
    if 'input_size' not in codec:
        raise ConfigProblem('neither codec.input_size nor model.head.decoder.input_size is set')
    width, height = codec['input_size']
    return int(width), int(height)


def load_generator(cfg: Config, config: str, checkpoint: str) -> HeatmapGenerator:
    """Build the model of ``cfg`` with mmpose's ``init_model``, check the
    checkpoint's generator weights against it and load them.

    ``init_model`` only warns about mismatched keys, so the state dict is
    compared first and loaded only when its generator weights fit exactly.
    ``init_model`` also drops the backbone's pretrained ``init_cfg`` and never
    calls ``init_weights``: nothing is downloaded.
    """
    model = init_model(cfg, device='cpu')
    load_matching_weights(model, checkpoint, config, GAN_ONLY)
    return HeatmapGenerator(model).eval()


def export(generator: HeatmapGenerator, size: tuple[int, int], out: str, opset: int) -> None:
    """Export with torch's TorchScript-based exporter (``dynamo=False``) and
    ``dynamic_axes`` for the batch, then run ``onnx.checker``.  torch 2.13's
    default dynamo exporter needs the onnxscript package, which the pinned
    stack does not install; the TorchScript one exports HRNet and the HRU
    hourglass exactly (see tests/test_export_onnx.py)."""
    import onnx

    width, height = size
    dummy = torch.randn(2, 3, height, width)
    os.makedirs(osp.dirname(osp.abspath(out)), exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.filterwarnings('ignore', 'You are using the legacy TorchScript-based',
                                DeprecationWarning)
        torch.onnx.export(generator, (dummy, ), out, dynamo=False, opset_version=opset,
                          input_names=['input'], output_names=['heatmaps'],
                          dynamic_axes={'input': {0: 'batch'}, 'heatmaps': {0: 'batch'}})
    onnx.checker.check_model(onnx.load(out), full_check=True)


def ort_session(path: str) -> InferenceSession:
    """A CPU session with as many threads as PyTorch uses, whose threads
    sleep between runs: spinning ones would steal the cores from the
    PyTorch forward timed next to them."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = torch.get_num_threads()
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    return ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])


def max_abs_diffs(generator: HeatmapGenerator, session: InferenceSession, size: tuple[int, int],
                  batches: list[int]) -> dict[int, float]:
    """Max abs difference of PyTorch's and ONNX Runtime's heatmaps per batch
    size, on a seeded random input (inf where the shapes differ)."""
    width, height = size
    rng = torch.Generator().manual_seed(0)
    diffs = {}
    for batch in batches:
        x = torch.randn(batch, 3, height, width, generator=rng)
        with torch.no_grad():
            expected = generator(x).numpy()
        [got] = session.run(['heatmaps'], {'input': x.numpy()})
        diffs[batch] = (float(np.abs(got - expected).max()) if got.shape == expected.shape
                        else float('inf'))
    return diffs


def latencies(generator: HeatmapGenerator, session: InferenceSession, size: tuple[int, int],
              iters: int, warmup: int) -> dict[str, float]:
    """Median milliseconds per batch-1 forward, PyTorch and ONNX Runtime
    interleaved so that a drifting machine speed affects both alike."""
    width, height = size
    x = torch.randn(1, 3, height, width)
    feed = {'input': x.numpy()}
    times: dict[str, list[float]] = {'torch': [], 'onnxruntime': []}
    with torch.no_grad():
        for i in range(warmup + iters):
            start = time.perf_counter()
            generator(x)
            mid = time.perf_counter()
            session.run(['heatmaps'], feed)
            end = time.perf_counter()
            if i >= warmup:
                times['torch'].append((mid - start) * 1e3)
                times['onnxruntime'].append((end - mid) * 1e3)
    return {k: statistics.median(v) for k, v in times.items()}


def fail(message: str) -> int:
    print(f'error: {message}', file=sys.stderr)
    return 2


def print_latency_table(ms: dict[str, float], args: argparse.Namespace) -> None:
    print(f'CPU latency at batch 1, median of {args.iters} iterations after {args.warmup} '
          f'warm-up, {torch.get_num_threads()} threads')
    print(f'{"runtime":<16}{"ms":>10}')
    for name, value in ms.items():
        print(f'{name:<16}{value:>10.2f}')
    print(f'{"ratio ort/torch":<16}{ms["onnxruntime"] / ms["torch"]:>10.3f}')


def main() -> int:
    args = parse_args()
    missing = [m for m in ('onnx', 'onnxruntime') if importlib.util.find_spec(m) is None]
    if missing:
        return fail(f'{" and ".join(missing)} not installed (pip install onnx onnxruntime)')
    for what, path in (('config', args.config), ('checkpoint', args.checkpoint)):
        if not osp.isfile(path):
            return fail(f"{what} '{path}' does not exist")
    try:
        cfg = Config.fromfile(args.config)
    except Exception as err:  # syntax errors, missing bases, bad values: many types
        return fail(f"config '{args.config}' cannot be read: {type(err).__name__}: "
                    f"{(str(err).splitlines() or [''])[0]}")
    try:
        size = input_size(cfg)
        generator = load_generator(cfg, args.config, args.checkpoint)
    except ConfigProblem as err:
        return fail(f"config '{args.config}': {err}")
    except CheckpointError as err:
        return fail(str(err))

    prep = cfg.model.get('data_preprocessor') or {}
    print(f"not in the graph, apply before: the data_preprocessor's bgr_to_rgb="
          f"{prep.get('bgr_to_rgb', False)}, mean={prep.get('mean')}, std={prep.get('std')}")
    export(generator, size, args.out, args.opset)
    session = ort_session(args.out)
    _, keypoints, height, width = session.get_outputs()[0].shape
    result: dict[str, Any] = dict(
        config=args.config, checkpoint=args.checkpoint, onnx=args.out, opset=args.opset,
        input_size=list(size), heatmap_size=[width, height], num_keypoints=keypoints,
        atol=args.atol, threads=torch.get_num_threads(), max_abs_diff=None, latency_ms=None,
        ratio_ort_torch=None)
    print(f'wrote {args.out}: opset {args.opset}, input (batch, 3, {size[1]}, {size[0]}) -> '
          f'heatmaps (batch, {keypoints}, {height}, {width})')
    if not args.no_verify:
        diffs = max_abs_diffs(generator, session, size, sorted({1, args.batch}))
        for batch, diff in diffs.items():
            print(f'batch {batch}: max abs difference ONNX Runtime vs PyTorch {diff:.3g}')
        failed = [(b, d) for b, d in diffs.items() if not d <= args.atol]  # NaN fails too
        if failed:
            batch, worst = failed[0]
            print(f'error: ONNX Runtime heatmaps differ from PyTorch by {worst:.3g} (max abs, '
                  f'batch {batch}) > --atol {args.atol:g}', file=sys.stderr)
            return 1
        result['max_abs_diff'] = {str(b): d for b, d in diffs.items()}
    if args.iters:
        ms = latencies(generator, session, size, args.iters, args.warmup)
        print_latency_table(ms, args)
        result.update(latency_ms=ms, ratio_ort_torch=ms['onnxruntime'] / ms['torch'],
                      iters=args.iters, warmup=args.warmup)
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(result, f, indent=2)
        print(f'wrote {args.json}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
