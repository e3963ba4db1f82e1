"""Convergence probe (synthetic data): one seed of hourglass_units' baseline
(`res`: the quickstart 2-stack hourglass with residual units and nearest
upsampling) on the spec's proxy (64x64, all 2483 training people, batch 8)
with the quickstart's decaying recipe instead of the HRU report's constant
rate: RMSprop 1e-3 after a 100-iteration warm-up, cosine decay to 1e-5 over
32 epochs (9952 iterations), validated 16 times. The 16-epoch
probe (hourglass_res_64x64_cosine16.py) still gained 2.7% over its last
quarter, and the constant 2.5e-4 of hourglass_res_64x64_long.py 3.2% over
epochs 30-40: this one asks whether twice the decaying schedule reaches
the plateau. A checkpoint every 4 epochs lets an interrupted probe continue.
"""
_base_ = ['./hourglass_res_64x64_cosine16.py']

val_points = 16
schedule = {
    'train_cfg.max_epochs': 32,
    'param_scheduler.1.end': 32,
    'default_hooks.checkpoint.interval': 4,
    'default_hooks.checkpoint.max_keep_ckpts': 1,
}
