"""Top-down pose estimator trained adversarially (HRGAN)."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import Optional, Union

import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from mmpose.evaluation.functional import pose_pck_accuracy
from mmpose.models.pose_estimators import TopdownPoseEstimator
from mmpose.registry import MODELS
from mmpose.utils.tensor_utils import to_numpy
from mmpose.utils.typing import ConfigType, OptConfigType, OptMultiConfig, SampleList
from torch import Tensor

from ...utils.model_wrappers import read_wrapped_keys, unwrap_model, wrapper_free_state_dict
from .mixed_precision import backward_in_parts, is_half, rounds_like_half


@MODELS.register_module()
class AdversarialTopdownPoseEstimator(TopdownPoseEstimator):
    """A :class:`TopdownPoseEstimator` (the generator G) trained against a
    heatmap discriminator D(C, X) with BEGAN's boundary equilibrium (HRGAN).

    Each training step, as in the slides:

    1. G predicts heatmaps ``C^`` (the last stage's, for multi-stage heads).
    2. D step(s): ``L_D = L_real - k_t * L_fake`` on ``C`` and ``C^.detach()``,
       real and fake in two D forwards (BatchNorm statistics per batch, as
       in every reference implementation).
    3. G step: ``L_G = L_MSE + lambda_G * L_adv`` with ``L_MSE`` the head's
       own heatmap loss and ``L_adv`` from ``adversarial_loss``, through a
       fresh forward of the updated D; gradients flow through D into G but
       D's own weight gradients are not computed.

    Every ``adv_grad_interval`` iterations the G step also logs
    ``adv_grad_ratio = ||grad_G(lambda_G L_adv)|| / ||grad_G(L_MSE)||`` over
    the generator's parameters (two extra backward passes on those
    iterations only): the share of the generator's update the adversarial
    game accounts for.

    Under AMP (the networks' outputs in fp16/bf16) each loss's small term,
    ``lambda_G L_adv`` and ``k_t L_fake``, is backpropagated on its own and
    added to the large term's gradient in the parameters' fp32 ``.grad``
    (:mod:`.mixed_precision`): summed in half precision it would be rounded
    away. G's term is split the same way under TF32 convolutions (CUDA,
    compute capability >= 8), which round as coarsely. This costs G one extra
    backward per iteration under AMP or TF32 only.

    ``k_t`` is a buffer (saved with the weights, so ``--resume`` continues
    it); :class:`BoundaryEquilibriumHook` updates it after every iteration,
    and without the hook it stays at ``k_init`` (the fixed-k ablation).
    ``predict``/``test_step`` use the generator alone, so mmpose's test,
    inferencer and demo run an HRGAN checkpoint like any top-down model.

    Every call that needs gradients goes through a submodule's ``forward``, so
    the model trains correctly under ``MMSeparateDistributedDataParallel``
    (each child in its own DDP); only the parameter-free loss modules and
    inference reach inside the wrappers.

    Args:
        backbone, neck, head, train_cfg, test_cfg, data_preprocessor,
        init_cfg, metainfo: as for :class:`TopdownPoseEstimator`.  The head
            must return heatmaps ``(N, K, H, W)`` from ``forward`` (or a list
            of them, one per stage, as ``CPMHead``) and hold its heatmap
            loss in ``loss_module`` (``HeatmapHead``, ``CPMHead``, ...).
        discriminator (dict): D config, e.g. ``dict(type='PoseDiscriminator')``;
            ``num_keypoints`` defaults to the head's ``out_channels`` and must
            equal it when given.
        adversarial_loss (dict): ``dict(type='BEGANLoss', ...)`` or
            ``dict(type='NonSaturatingGANLoss')`` (a classifier D). A
            ``reduction='sum'`` loss is refused: the head's heatmap loss is a
            mean, so a summed ``L_adv`` would scale ``lambda_G`` by K*H*W.
        lambda_g (float): weight ``lambda_G`` of ``L_adv``. Defaults to 1e-4.
        disc_steps (int): D updates per G update. Defaults to 1.
        warmup_iters (int): iterations trained with ``L_MSE`` only before
            the adversarial game starts. Defaults to 0.
        k_init (float): ``k_0``. Defaults to 0.
        adv_grad_interval (int): iterations between ``adv_grad_ratio``
            measurements; 0 turns the meter off. Defaults to 50.
    """

    def __init__(self,
                 backbone: ConfigType,
                 neck: OptConfigType = None,
                 head: OptConfigType = None,
                 discriminator: OptConfigType = None,
                 adversarial_loss: ConfigType = dict(type='BEGANLoss'),
                 lambda_g: float = 1e-4,
                 disc_steps: int = 1,
                 warmup_iters: int = 0,
                 k_init: float = 0.0,
                 adv_grad_interval: int = 50,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 metainfo: Optional[dict] = None):
        super().__init__(backbone=backbone, neck=neck, head=head, train_cfg=train_cfg,
                         test_cfg=test_cfg, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg, metainfo=metainfo)
        if discriminator is None:
            raise ValueError('AdversarialTopdownPoseEstimator needs a `discriminator` config')
        if disc_steps < 1:
            raise ValueError(f'disc_steps must be >= 1, got {disc_steps}')
        if not 0.0 <= k_init <= 1.0:
            raise ValueError(f'k_init must lie in [0, 1], got {k_init}')
        if adv_grad_interval < 0:
            raise ValueError(f'adv_grad_interval must be >= 0, got {adv_grad_interval}')
        if adversarial_loss.get('reduction') == 'sum':
            head_loss = type(getattr(self.head, 'loss_module', None)).__name__
            raise ValueError(
                f"model.adversarial_loss.reduction='sum' sums L_adv over K*H*W elements while "
                f"the head's heatmap loss ({head_loss}) is a per-pixel mean, which silently "
                "multiplies lambda_G by K*H*W; use reduction='mean' (the reference code's "
                "nn.MSELoss) and set lambda_g")
        # D's random construction must not shift the random stream from which
        # the generator is initialised: with the same seed, G starts exactly
        # as the TopdownPoseEstimator of the baseline config (paired runs).
        with torch.random.fork_rng(devices=[]):
            self.discriminator = MODELS.build(self._matching_discriminator(discriminator))
        self.adversarial_loss = MODELS.build(adversarial_loss)
        self.lambda_g = lambda_g
        self.disc_steps = disc_steps
        self.warmup_iters = warmup_iters
        self.adv_grad_interval = adv_grad_interval
        self.register_buffer('k_t', torch.tensor(float(k_init)))
        # multi-process runs wrap each child in its own DDP: checkpoints keep
        # the one-process keys either way
        self._register_state_dict_hook(wrapper_free_state_dict)
        self.register_load_state_dict_pre_hook(read_wrapped_keys)

    def _matching_discriminator(self, discriminator: ConfigType) -> dict:
        """``discriminator`` with ``num_keypoints`` set to the head's K."""
        num_keypoints = getattr(self.head, 'out_channels', None)
        cfg = dict(discriminator)
        if num_keypoints is None:
            if 'num_keypoints' not in cfg:
                raise ValueError('model.discriminator.num_keypoints is needed: the head '
                                 f'{type(self.head).__name__} has no out_channels')
            return cfg
        given = cfg.setdefault('num_keypoints', num_keypoints)
        if given != num_keypoints:
            raise ValueError(f'model.discriminator.num_keypoints={given} does not match '
                             f'model.head.out_channels={num_keypoints}')
        return cfg

    # ------------------------------------------------------------------ train
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> dict[str, Tensor]:
        """One discriminator step (or ``disc_steps``), then one generator step."""
        g_optim, d_optim = optim_wrapper['generator'], optim_wrapper['discriminator']
        with g_optim.optim_context(self.backbone):
            data = self.data_preprocessor(data, True)
            inputs, samples = data['inputs'], data['data_samples']
            gt = torch.stack([d.gt_fields.heatmaps for d in samples])
            weights = torch.cat([d.gt_instance_labels.keypoint_weights for d in samples])
            preds = self.head(self.extract_feat(inputs))
        pred = preds[-1] if isinstance(preds, (list, tuple)) else preds
        log_vars: dict[str, Tensor] = {}

        adversarial = self._iter() >= self.warmup_iters
        if adversarial:
            for _ in range(self.disc_steps):
                log_vars.update(self._discriminator_step(d_optim, inputs, gt, pred.detach(),
                                                         weights))
        with g_optim.optim_context(self.backbone), self._no_sync(self.discriminator):
            loss_kpt = self._heatmap_loss(preds, gt, weights)
            loss_adv: Optional[Tensor] = None
            if adversarial:
                recon_fake = self.discriminator(pred, inputs)
                loss_adv = self.adversarial_loss.adversarial_loss(recon_fake, gt, pred, weights)
                log_vars['loss_adv'] = loss_adv.detach()
                if self._measure_now():
                    ratio = self.adversarial_gradient_ratio(
                        loss_kpt, loss_adv, getattr(g_optim, 'loss_scaler', None),
                        weight=self.lambda_g)
                    if torch.isfinite(ratio):  # an AMP step that overflows is skipped
                        log_vars['adv_grad_ratio'] = ratio
        loss_g = self._generator_update(g_optim, loss_kpt, loss_adv,
                                        split=rounds_like_half(pred))
        log_vars.update(loss_kpt=loss_kpt.detach(), loss_g=loss_g.detach(),
                        acc_pose=self._accuracy(pred, gt, weights))
        return log_vars

    def _generator_parameters(self) -> list[nn.Parameter]:
        return [p for name, p in self.named_parameters()
                if not name.startswith('discriminator.') and p.requires_grad]

    def _measure_now(self) -> bool:
        return bool(self.adv_grad_interval) and self._iter() % self.adv_grad_interval == 0

    def adversarial_gradient_ratio(self, loss_kpt: Tensor, loss_adv: Tensor,
                                   loss_scaler=None, weight: float = 1.0) -> Tensor:
        """``|weight| * ||grad_G(loss_adv)|| / ||grad_G(loss_kpt)||`` over the
        generator's parameters (this rank's gradients, before any update).
        Under AMP both losses are scaled by the optimiser's ``loss_scaler``
        first and ``loss_adv`` is backpropagated unweighted, so fp16
        gradients do not underflow (the ratio is unchanged)."""
        params = self._generator_parameters()
        norms = []
        for loss in (loss_adv, loss_kpt):
            if loss_scaler is not None:
                loss = loss_scaler.scale(loss)
            grads = torch.autograd.grad(loss, params, retain_graph=True, allow_unused=True)
            norms.append(torch.linalg.vector_norm(torch.stack(
                [torch.linalg.vector_norm(g) for g in grads if g is not None])))
        return (abs(weight) * norms[0] / norms[1].clamp_min(1e-30)).detach()

    def _generator_update(self, g_optim, loss_kpt: Tensor, loss_adv: Optional[Tensor],
                          split: bool) -> Tensor:
        """``g_optim.update_params(L_G)`` with ``L_G = L_MSE + lambda_G L_adv``,
        backpropagating into the generator's parameters only: D's weight
        gradients, which the G step never uses, are not computed (nor
        synchronised across ranks). With ``split`` (AMP or TF32) the two terms
        meet in the fp32 ``.grad`` (:func:`backward_in_parts`). Returns ``L_G``."""
        params = self._generator_parameters()
        if loss_adv is None:
            loss_g = loss_kpt
            g_optim.backward(g_optim.scale_loss(loss_g), inputs=params)
        else:
            loss_g = loss_kpt + self.lambda_g * loss_adv
            if split:
                backward_in_parts(g_optim, loss_kpt, [(self.lambda_g, loss_adv)], params)
            else:
                g_optim.backward(g_optim.scale_loss(loss_g), inputs=params)
        self._step(g_optim)
        return loss_g

    @staticmethod
    def _step(optim_wrapper) -> None:
        """The second half of ``OptimWrapper.update_params``."""
        if optim_wrapper.should_update():
            optim_wrapper.step()
            optim_wrapper.zero_grad()

    @staticmethod
    def _no_sync(module: nn.Module):
        """DDP's ``no_sync`` for a wrapped module (its forward then expects no
        gradient reduction), a no-op otherwise."""
        return module.no_sync() if hasattr(module, 'no_sync') else nullcontext()

    def _discriminator_step(self, d_optim, inputs: Tensor, gt: Tensor, fake: Tensor,
                            weights: Tensor) -> dict[str, Tensor]:
        """``L_D`` from ``adversarial_loss`` (BEGAN: ``L_real - k_t L_fake``);
        real and fake go through D in separate forwards, so each BatchNorm
        normalises a batch of one kind. Under AMP ``w L_fake`` (BEGAN's
        ``w = -k_t``) joins ``L_real`` in the fp32 ``.grad``: the two forwards
        share autocast's half-precision weight copies, where one backward of
        the sum would add them."""
        with d_optim.optim_context(self.discriminator):
            recon_real = self.discriminator(gt, inputs)
            recon_fake = self.discriminator(fake, inputs)
            losses = self.adversarial_loss.discriminator_losses(
                recon_real, gt, recon_fake, fake, self.k_t, weights)
        fake_weight = getattr(self.adversarial_loss, 'fake_weight', None)
        if is_half(recon_real) and fake_weight is not None:
            params = [p for p in self.discriminator.parameters() if p.requires_grad]
            backward_in_parts(d_optim, losses['loss_real'],
                              [(fake_weight(self.k_t), losses['loss_fake'])], params)
            self._step(d_optim)
        else:
            d_optim.update_params(losses['loss_d'])
        return {k: v.detach() for k, v in losses.items()}

    def _heatmap_loss(self, preds: Union[Tensor, list[Tensor]], gt: Tensor,
                      weights: Tensor) -> Tensor:
        """The head's own heatmap loss (summed over stages for multi-stage heads)."""
        loss_module = unwrap_model(self.head).loss_module
        if not isinstance(preds, (list, tuple)):
            return loss_module(preds, gt, weights)
        modules = (loss_module if isinstance(loss_module, nn.ModuleList)
                   else [loss_module] * len(preds))
        return sum(m(p, gt, weights) for m, p in zip(modules, preds))

    @staticmethod
    def _accuracy(pred: Tensor, gt: Tensor, weights: Tensor) -> Tensor:
        # .float(): numpy has no bf16 (AMP's heatmaps); mmpose's heads fail there
        _, acc, _ = pose_pck_accuracy(output=to_numpy(pred.detach().float()),
                                      target=to_numpy(gt.float()), mask=to_numpy(weights) > 0)
        return torch.tensor(acc, device=gt.device)

    @staticmethod
    def _iter() -> int:
        return MessageHub.get_current_instance().get_info('iter', 0)

    # ---------------------------------------------------------------- predict
    @contextmanager
    def _unwrapped_children(self) -> Iterator[None]:
        """Temporarily replace DDP-wrapped children by their modules, for the
        gradient-free inference path that calls ``head.predict``."""
        wrapped = {n: m for n, m in self._modules.items() if is_model_wrapper(m)}
        try:
            for name, module in wrapped.items():
                self._modules[name] = module.module
            yield
        finally:
            self._modules.update(wrapped)

    def predict(self, inputs: Tensor, data_samples: SampleList) -> SampleList:
        """Generator-only prediction, as :meth:`TopdownPoseEstimator.predict`."""
        with self._unwrapped_children():
            return super().predict(inputs, data_samples)
