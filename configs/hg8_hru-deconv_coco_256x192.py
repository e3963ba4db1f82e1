# Stacked hourglass (8 stacks, HRUs, transposed-convolution upsampling) on
# COCO at 256x192 -> 64x48: the HRNet-W32 COCO recipe of
# hrnet_w32_coco_256x192.py (data, 130 epochs, constant RMSprop 2.5e-4, 16 per
# GPU) with the hourglass model.  Hourglass depth 4 needs heatmap
# sides divisible by 16 (64 and 48 are).
_base_ = './hrnet_w32_coco_256x192.py'

optim_wrapper = dict(optimizer=dict(_delete_=True, type='RMSprop', lr=2.5e-4))

codec = dict(type='MSRAHeatmap', input_size=(192, 256), heatmap_size=(48, 64), sigma=2)
model = dict(
    backbone=dict(
        _delete_=True, type='HRUHourglassNet', num_keypoints=17, num_stacks=8,
        feat_channels=256, depth=4, unit='hru', upsample='deconv', deconv_kernel=3),
    head=dict(
        _delete_=True, type='CPMHead', in_channels=17, out_channels=17, num_stages=8,
        deconv_out_channels=None, final_layer=None,
        loss=dict(type='KeypointMSELoss', use_target_weight=True), decoder=codec))
