"""BEGAN losses for heatmap discriminators (HRGAN slides, BEGAN eq. 4)."""
from __future__ import annotations

from typing import Optional

import torch.nn as nn
from mmpose.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class BEGANLoss(nn.Module):
    """Reconstruction losses of an autoencoder discriminator D(C, X).

    With ``e(A, B) = sum_j (A_j - B_j)^2`` (the slides' sums over the M
    joints, here also over pixels):

    - ``L_real = e(C, D(C, X))``
    - ``L_fake = e(C^, D(C^, X))``
    - ``L_D = L_real - k_t * L_fake``
    - ``L_adv = e(T, D(C^, X))`` with ``T = C`` (``adv_target='gt'``, the
      slides' formula) or ``T = C^`` (``'pred'``, Chou et al.)

    The generator's total is ``L_G = L_MSE + lambda_G * L_adv`` (built by
    :class:`AdversarialTopdownPoseEstimator`).

    Args:
        reduction (str): ``'mean'`` averages the squared errors over all
            elements (per-pixel MSE, the scale of mmpose's
            ``KeypointMSELoss``); ``'sum'`` sums over joints and pixels as the
            slides write it, then averages over the batch; with a per-pixel
            mean heatmap loss that scales ``lambda_G`` by K*H*W, so
            :class:`AdversarialTopdownPoseEstimator` refuses it. The reference
            code uses the mean. Defaults to 'mean'.
        adv_target (str): ``'gt'`` or ``'pred'``, see above. Defaults to 'gt'.
        use_target_weight (bool): multiply each joint's error by its keypoint
            weight ``(N, K)`` (the slides' "target weight" ablation).
            Defaults to False.
    """

    def __init__(self, reduction: str = 'mean', adv_target: str = 'gt',
                 use_target_weight: bool = False) -> None:
        super().__init__()
        if reduction not in ('mean', 'sum'):
            raise ValueError(f"BEGANLoss: reduction must be 'mean' or 'sum', got {reduction!r}")
        if adv_target not in ('gt', 'pred'):
            raise ValueError(f"BEGANLoss: adv_target must be 'gt' or 'pred', got {adv_target!r}")
        self.reduction = reduction
        self.adv_target = adv_target
        self.use_target_weight = use_target_weight

    def energy(self, recon: Tensor, target: Tensor, weight: Optional[Tensor] = None) -> Tensor:
        """``e(target, recon)`` for ``(N, K, H, W)`` tensors and ``(N, K)`` weights."""
        err = (recon - target).pow(2)
        if self.use_target_weight:
            if weight is None:
                raise ValueError('BEGANLoss(use_target_weight=True) needs keypoint weights')
            err = err * weight[:, :, None, None].to(err.dtype)
        if self.reduction == 'mean':
            return err.mean()
        return err.flatten(1).sum(1).mean()

    def discriminator_losses(self, recon_real: Tensor, real: Tensor, recon_fake: Tensor,
                             fake: Tensor, k_t: float | Tensor,
                             weight: Optional[Tensor] = None) -> dict[str, Tensor]:
        """``loss_real``, ``loss_fake`` and ``loss_d = L_real - k_t * L_fake``.
        ``fake`` should be detached by the caller for the D step."""
        loss_real = self.energy(recon_real, real, weight)
        loss_fake = self.energy(recon_fake, fake, weight)
        return dict(loss_real=loss_real, loss_fake=loss_fake, loss_d=loss_real - k_t * loss_fake)

    @staticmethod
    def fake_weight(k_t: float | Tensor) -> float:
        """``w`` in ``L_D = L_real + w * L_fake``: ``-k_t``."""
        return -float(k_t)

    def adversarial_loss(self, recon_fake: Tensor, real: Tensor, fake: Tensor,
                         weight: Optional[Tensor] = None) -> Tensor:
        """The generator's adversarial term ``L_adv``."""
        target = real if self.adv_target == 'gt' else fake
        return self.energy(recon_fake, target, weight)
