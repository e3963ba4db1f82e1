# The converging proxy of hourglass_units: the quickstart 2-stack hourglass at
# 64x64 input (16x16 heatmaps, sigma 1, the recipe's sigma at 64x64 heatmaps)
# instead of 128x128, so an iteration costs about a quarter (the depth-3
# hourglass halves 16x16 three times, to 2x2). Pipeline indices are those of
# configs/quickstart/hg2_hru-deconv_synthetic-mpii_128x128.py.
_codec = dict(type='MSRAHeatmap', input_size=(64, 64), heatmap_size=(16, 16), sigma=1,
              unbiased=True, blur_kernel_size=5)
proxy_options = {
    'model.head.decoder': _codec,
    'train_dataloader.dataset.pipeline.4.input_size': _codec['input_size'],
    'train_dataloader.dataset.pipeline.5.encoder': _codec,
    'val_dataloader.dataset.pipeline.2.input_size': _codec['input_size'],
    'test_dataloader.dataset.pipeline.2.input_size': _codec['input_size'],
}
