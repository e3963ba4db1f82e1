"""The standard GAN loss for a real/fake classifier D(C, X) (Goodfellow et al.,
non-saturating generator loss): the HRGAN slides' "conventional GAN" ablation."""
from __future__ import annotations

from typing import Optional

import torch.nn as nn
import torch.nn.functional as F
from mmpose.registry import MODELS
from torch import Tensor


@MODELS.register_module()
class NonSaturatingGANLoss(nn.Module):
    """Binary cross-entropy on D's logits, with the same interface as
    :class:`BEGANLoss` so :class:`AdversarialTopdownPoseEstimator` runs either.

    - ``L_real = -log sigmoid(D(C, X))``, ``L_fake = -log(1 - sigmoid(D(C^, X)))``
    - ``L_D = L_real + L_fake`` (``k_t`` plays no part)
    - ``L_adv = -log sigmoid(D(C^, X))`` (non-saturating generator loss)

    Each is the mean over the batch and over D's logits: one per sample for a
    conventional D, one per joint channel for a channel-wise D.
    """

    def discriminator_losses(self, logits_real: Tensor, real: Tensor, logits_fake: Tensor,
                             fake: Tensor, k_t: Optional[Tensor] = None,
                             weight: Optional[Tensor] = None) -> dict[str, Tensor]:
        """``loss_real``, ``loss_fake`` and ``loss_d``; ``real``, ``fake``,
        ``k_t`` and ``weight`` are accepted for the shared interface."""
        loss_real = F.softplus(-logits_real).mean()
        loss_fake = F.softplus(logits_fake).mean()
        return dict(loss_real=loss_real, loss_fake=loss_fake, loss_d=loss_real + loss_fake)

    @staticmethod
    def fake_weight(k_t: Optional[Tensor] = None) -> float:
        """``w`` in ``L_D = L_real + w * L_fake``: 1."""
        return 1.0

    def adversarial_loss(self, logits_fake: Tensor, real: Tensor, fake: Tensor,
                         weight: Optional[Tensor] = None) -> Tensor:
        """The generator's ``L_adv``: fool D into calling ``C^`` real."""
        return F.softplus(-logits_fake).mean()
