# The converging proxy of the COCO-format specs: the quickstart reduced HRNet
# at 96x64 input (h x w; 24x16 heatmaps, sigma 1) instead of 128x96, so an
# iteration costs about half (HRNet needs sides divisible by 32, and the small
# D's depth-3 hourglass heatmap sides divisible by 8). Pipeline indices are those of
# configs/quickstart/hrnet_synthetic-coco_128x96.py.
_codec = dict(type='MSRAHeatmap', input_size=(64, 96), heatmap_size=(16, 24), sigma=1.0,
              unbiased=True, blur_kernel_size=5)
proxy_options = {
    'model.head.decoder': _codec,
    'train_dataloader.dataset.pipeline.5.input_size': _codec['input_size'],
    'train_dataloader.dataset.pipeline.6.encoder': _codec,
    'val_dataloader.dataset.pipeline.2.input_size': _codec['input_size'],
    'test_dataloader.dataset.pipeline.2.input_size': _codec['input_size'],
}
