# Quickstart HRGAN with the reference discriminator (HRNetDiscriminator: HRNet
# without its stem on image + heatmaps), scaled down to the quickstart: the
# reduced HRNet's stages (W18 widths, fewer modules and blocks) at 32x24
# heatmaps instead of HRNet-W32 at 64x48. Same game as
# hrgan_synthetic-coco_128x96.py otherwise.
_base_ = './hrgan_synthetic-coco_128x96.py'

model = dict(discriminator=dict(_delete_=True, type='HRNetDiscriminator',
                                extra=_base_.model.backbone.extra))
