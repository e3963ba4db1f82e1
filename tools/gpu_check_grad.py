"""The AMP check of ``tools/gpu_check.py``: the generator gradient of
``lambda_G * L_adv`` in each precision against fp32 (HRGAN; the rounding of
issue 23, finding 2), measured as the difference of two ``train_step`` calls
(``lambda_G`` and 0) from the same state.

Gradients are read where the optimiser steps (each wrapper's
``optimizer.step``, which AMP's loss scaler calls after unscaling and only
when the gradients are finite), so the measurement does not depend on how
the model computes them.
"""
from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Optional

import torch
from gpu_check_steps import Iteration, Row, one_line
from mmengine.optim import OptimWrapperDict
from torch import Tensor

COSINE_MIN, NORM_TOL = 0.99, 0.05  # PASS: cosine >= 0.99, relative norm within 5 %


@contextmanager
def stepped_gradients(optim_wrapper) -> Iterator[dict[str, list[Tensor]]]:
    """Per wrapper name, the flattened fp32 gradients each of its optimiser
    steps used (a step AMP skips for non-finite gradients records nothing)."""
    wrappers = (dict(optim_wrapper.items()) if isinstance(optim_wrapper, OptimWrapperDict)
                else {'model': optim_wrapper})
    record: dict[str, list[Tensor]] = {name: [] for name in wrappers}

    def recording(name: str, optimizer: torch.optim.Optimizer):
        step = optimizer.step

        def recorded_step(*args: Any, **kwargs: Any) -> Any:
            params = [p for group in optimizer.param_groups for p in group['params']]
            record[name].append(torch.cat([
                (p.grad.detach().float() if p.grad is not None
                 else torch.zeros_like(p, dtype=torch.float32)).flatten() for p in params]))
            return step(*args, **kwargs)
        return recorded_step

    for name, wrapper in wrappers.items():
        wrapper.optimizer.step = recording(name, wrapper.optimizer)
    try:
        yield record
    finally:
        for wrapper in wrappers.values():
            vars(wrapper.optimizer).pop('step', None)


class SkippedStep(FloatingPointError):
    """AMP skipped the generator's step (non-finite gradients); ``states``
    are the loss scalers' states after it (the scale lowered)."""

    def __init__(self, states: dict[str, dict]) -> None:
        super().__init__('AMP skipped the generator step (non-finite gradients)')
        self.states = states


def _scalers(wrapper) -> dict[str, Any]:
    wrappers = dict(wrapper.items()) if isinstance(wrapper, OptimWrapperDict) else {'': wrapper}
    return {k: w.loss_scaler for k, w in wrappers.items()
            if getattr(w, 'loss_scaler', None) is not None and w.loss_scaler.is_enabled()}


def generator_gradient(it: Iteration, snapshot: dict, precision: str, lambda_g: float,
                       scaler_states: Optional[dict] = None) -> tuple[Tensor, str, float]:
    """The gradient the generator's optimiser steps with in one ``train_step``
    from ``snapshot`` at ``lambda_g`` in ``precision`` (loss scalers in
    ``scaler_states``), the error the step raised after that optimiser step
    ('' if none) and the generator's loss scale (1 without one). Raises
    :class:`SkippedStep` if AMP skipped the step."""
    it.model.load_state_dict(snapshot)
    it.model.lambda_g = lambda_g
    wrapper = it.fresh_wrapper(precision)
    for key, scaler in _scalers(wrapper).items():
        if (scaler_states or {}).get(key):
            scaler.load_state_dict(scaler_states[key])
    name = 'generator' if isinstance(wrapper, OptimWrapperDict) else 'model'
    torch.manual_seed(0)
    it.runner.model.train()
    batch = dict(it.batch, inputs=list(it.batch['inputs']))
    error = ''
    with stepped_gradients(wrapper) as record, fp32_math(precision):
        try:
            it.runner.model.train_step(batch, optim_wrapper=wrapper)
        except Exception as err:  # noqa: BLE001  (reported with the gradient it stepped with)
            if len(record[name]) != 1:
                raise
            error = f'train_step raised after the generator step: {one_line(err)}'
    if not record[name] and _scalers(wrapper):
        raise SkippedStep({k: s.state_dict() for k, s in _scalers(wrapper).items()})
    if len(record[name]) != 1:
        raise RuntimeError(f'{len(record[name])} generator optimiser steps instead of 1')
    scaler = _scalers(wrapper).get('generator' if name == 'generator' else '')
    return record[name][0].double(), error, scaler.get_scale() if scaler else 1.0


def adversarial_gradient(it: Iteration, snapshot: dict, precision: str,
                         lambda_g: float) -> tuple[Tensor, str, float]:
    """``generator_gradient`` at ``lambda_g`` minus at 0, the first error,
    and the generator's loss scale. A step AMP skips (as at the start of
    training) is taken again at the lowered scale, both runs at the same."""
    states: dict = {}
    for _ in range(12):
        try:
            (grad, err_a, scale), (grad0, err_b, _) = (
                generator_gradient(it, snapshot, precision, v, states) for v in (lambda_g, 0.0))
            return grad - grad0, err_a or err_b, scale
        except SkippedStep as skip:
            states = skip.states
    scale = max(s.get('scale', 0) for s in states.values())
    raise FloatingPointError(f'AMP skipped every step, down to loss scale {scale:g}')


@contextmanager
def fp32_math(precision: str) -> Iterator[None]:
    """TF32 off for ``fp32`` (IEEE convolutions and matmuls: the reference),
    on for ``tf32`` (cuDNN's default on Ampere and later GPUs, which rounds
    a convolution's inputs to 10 mantissa bits); AMP keeps the settings."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    if precision in ('fp32', 'tf32'):
        torch.backends.cudnn.allow_tf32 = precision == 'tf32'
        torch.backends.cuda.matmul.allow_tf32 = precision == 'tf32'
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


@contextmanager
def deterministic_cudnn() -> Iterator[None]:
    """cuDNN in deterministic mode, no autotuning (restored afterwards)."""
    saved = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = saved


def compare(diff: Tensor, ref: Tensor) -> dict[str, float]:
    """Cosine and relative norm of ``diff`` against ``ref``."""
    ref_norm = float(ref.norm())
    cosine = float(torch.nn.functional.cosine_similarity(diff, ref, dim=0))
    return dict(cosine=cosine, rel_norm=float(diff.norm()) / ref_norm)


def gradient_rows(it: Iteration, precisions: Sequence[str], lambdas: Sequence[float],
                  check: str) -> list[Row]:
    """For each ``lambda_G``: the generator gradient of ``lambda_G * L_adv``
    (``train_step`` at ``lambda_G`` minus ``train_step`` at 0, from the same
    state) in each precision against ``lambda_G`` times that difference in
    IEEE fp32 at ``lambda_G = 1``. The gradient is linear in ``lambda_G``,
    and at 1 the adversarial share is large enough for one fp32 backward to
    hold it, whereas at 2e-4 (a share of about 1e-6) fp32's own rounding of
    the sum would blur the reference; the fp32 row measures that rounding."""
    rows = []
    snapshot = copy.deepcopy(it.model.state_dict())
    configured = it.model.lambda_g
    try:
        with deterministic_cudnn():
            try:
                base = generator_gradient(it, snapshot, 'fp32', 0.0)[0]
                unit = generator_gradient(it, snapshot, 'fp32', 1.0)[0] - base
                if not float(unit.norm()) > 0:
                    raise ValueError('the fp32 difference is zero: L_adv does not reach G')
            except Exception as err:  # noqa: BLE001  (a check reports, the others run)
                return [Row(check, 'fp32 reference', 'FAIL', note=one_line(err))]
            for lam in lambdas:
                rows += _lambda_rows(it, snapshot, precisions, lam, lam * unit, base, check)
    finally:  # the starting state and weight, whichever way the check ended
        it.model.load_state_dict(snapshot)
        it.model.lambda_g = configured
    return rows


def _lambda_rows(it: Iteration, snapshot: dict, precisions: Sequence[str], lam: float,
                 ref: Tensor, base: Tensor, check: str) -> list[Row]:
    """One row per precision at ``lambda_G = lam`` against the reference
    ``ref``; ``base`` is the fp32 gradient without the adversarial term."""
    rows = []
    share = float(ref.norm() / base.norm())
    case = f'lambda_G {lam:g}'
    for precision in precisions:
        try:
            diff, error, scale = adversarial_gradient(it, snapshot, precision, lam)
            figures = dict(compare(diff, ref), adv_share=share)
            if precision == 'fp16':
                figures['loss_scale'] = scale
            ok = (figures['cosine'] >= COSINE_MIN
                  and abs(figures['rel_norm'] - 1) <= NORM_TOL)
            lost = (f'adversarial gradient lost (needs cosine >= {COSINE_MIN}, '
                    f'norm within {NORM_TOL:.0%})')
            note = error or ('' if ok else lost)
            rows.append(Row(check, f'{case}, {precision}',
                            'PASS' if ok and not note else 'FAIL', figures, note))
        except Exception as err:  # noqa: BLE001
            rows.append(Row(check, f'{case}, {precision}', 'FAIL', note=one_line(err)))
    return rows
