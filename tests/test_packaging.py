"""The README's install path into an existing mmpose 1.3 environment:
`pip install --no-deps .` (a regular, non-editable install built as a wheel) into a
fresh virtual environment that holds the installed stack, then, from a folder
outside the checkout, import the plugin, build every registered module from
the shipped configs and train one iteration."""
import glob
import os
import os.path as osp
import shutil
import subprocess
import sys
import sysconfig

from utils import QUICKSTART_HRGAN, REPO, synthetic_options

_CHECK = '''
import glob, os.path as osp, sys
import hrgan_plugin
assert 'site-packages' in hrgan_plugin.__file__, hrgan_plugin.__file__
from mmengine.config import Config
from mmpose.registry import MODELS
from mmpose.utils import register_all_modules
register_all_modules()
built = set()
for path in sorted(glob.glob(osp.join(sys.argv[1], 'configs', '*.py'))
                   + glob.glob(osp.join(sys.argv[1], 'configs', 'quickstart', '*.py'))):
    cfg = Config.fromfile(path)
    model = MODELS.build(cfg.model)
    built |= {type(m).__name__ for m in model.modules()}
print(hrgan_plugin.__file__)
print(sorted(built & {'AdversarialTopdownPoseEstimator', 'PoseDiscriminator', 'BEGANLoss',
                      'HRUHourglassNet', 'HourglassResidualUnit'}))
'''


def test_pip_install_into_an_existing_environment(synthetic_root, tmp_path):
    """About 60 s on 2 cores: a wheel build and install, 30 model builds and a
    one-iteration training run, each in a fresh process."""
    venv = tmp_path / 'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    python = str(venv / 'bin' / 'python')
    site = subprocess.run(
        [python, '-c', 'import sysconfig; print(sysconfig.get_paths()["purelib"])'],
        capture_output=True, text=True, check=True).stdout.strip()
    # the existing environment: this interpreter's installed stack (mmpose, mmcv, torch, ...)
    with open(osp.join(site, 'existing_stack.pth'), 'w') as f:
        f.write(sysconfig.get_paths()['purelib'] + '\n')
    # README: `pip install --no-deps .` (the environment's own mmpose stack stays as it is);
    # offline here, hence no index and no build isolation
    # (from a copy of the checkout: pip builds in the source tree)
    checkout = tmp_path / 'checkout'
    shutil.copytree(REPO, checkout, ignore=shutil.ignore_patterns(
        '.venv', '.git', 'data', 'work_dirs', 'docs', 'tests', '__pycache__', '*.egg-info'))
    install = subprocess.run([python, '-m', 'pip', 'install', '--no-deps', '--no-index',
                              '--no-build-isolation', '.'],
                             capture_output=True, text=True, cwd=str(checkout))
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    installed = glob.glob(osp.join(site, 'hrgan_plugin', '**', '*.py'), recursive=True)
    packaged = {osp.relpath(p, site) for p in installed}
    in_tree = {osp.relpath(p, REPO) for p in glob.glob(osp.join(REPO, 'hrgan_plugin', '**', '*.py'),
                                                         recursive=True)}
    assert packaged == in_tree  # every module ships, hrgan_plugin/augmentation/ included

    outside = tmp_path / 'elsewhere'
    outside.mkdir()
    check = subprocess.run([python, '-c', _CHECK, REPO], capture_output=True, text=True,
                           cwd=str(outside))
    assert check.returncode == 0, check.stderr[-3000:]
    location, modules = check.stdout.strip().splitlines()[-2:]
    assert location.startswith(site)
    assert modules == str(['AdversarialTopdownPoseEstimator', 'BEGANLoss', 'HRUHourglassNet',
                           'HourglassResidualUnit', 'PoseDiscriminator'])
    train = subprocess.run(
        [python, osp.join(REPO, 'tools', 'train.py'), QUICKSTART_HRGAN,
         '--work-dir', str(tmp_path / 'run'), '--cfg-options', *synthetic_options(synthetic_root),
         'train_dataloader.dataset.indices=8', 'train_cfg.val_interval=10'],
        capture_output=True, text=True, cwd=str(outside), env=dict(os.environ, PYTHONPATH=''))
    assert train.returncode == 0, train.stderr[-3000:]
    assert osp.isfile(tmp_path / 'run' / 'epoch_1.pth')
    assert 'loss_adv' in train.stdout + train.stderr

