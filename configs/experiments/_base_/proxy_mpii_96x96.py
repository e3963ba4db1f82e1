# The converging proxy of the MPII-format specs: the quickstart reduced HRNet
# (and ASR/AHO on it) at 96x96 input (24x24 heatmaps, sigma 1.2) instead of
# 128x128, so an iteration costs about 0.56x (HRNet needs sides divisible by
# 32; AHO's 4x4 grid still fits the 12x12 stage-2 branch). Pipeline indices
# are those of configs/quickstart/hrnet_synthetic-mpii_128x128.py.
_codec = dict(type='MSRAHeatmap', input_size=(96, 96), heatmap_size=(24, 24), sigma=1.2,
              unbiased=True, blur_kernel_size=5)
proxy_options = {
    'model.head.decoder': _codec,
    'train_dataloader.dataset.pipeline.4.input_size': _codec['input_size'],
    'train_dataloader.dataset.pipeline.5.encoder': _codec,
    'val_dataloader.dataset.pipeline.2.input_size': _codec['input_size'],
    'test_dataloader.dataset.pipeline.2.input_size': _codec['input_size'],
}
