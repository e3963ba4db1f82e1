"""The runs of an experiment on disk: a run's identity and folder, its
validation schedule, clearing a stale run, the spec's synthetic data, and
training one run (``tools/train.py``, then ``tools/mechanism_check.py``)
into its ``result.json``."""
from __future__ import annotations

import datetime
import json
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Optional

from mmengine.config import Config

from .machine import code_version, cpu_model, package_versions, thread_count
from .results import RunFailed, keep_logs, read_scalars, summarise_run
from .spec import Arm, ExperimentSpec, SpecError, is_pretrain


@dataclass
class Run:
    arm: Arm
    seed: int
    dir: str
    cfg: Config
    key: str
    archive: Optional[str] = None  # OUT/results/ARM/seedS.json: outlives the run folder
    pretrain: Optional[Run] = None  # the stage-1 run whose final weights it starts from

    @property
    def label(self) -> str:
        return f'{self.arm.name} seed {self.seed}'

    @property
    def result_file(self) -> str:
        return osp.join(self.dir, 'result.json')

    def result(self) -> Optional[dict]:
        """The result of exactly this run's config, from its folder or else
        from the results archive (kept with a published report, so a run
        whose folder is gone is not trained again); None when there is none."""
        for path in (self.result_file, self.archive):
            try:
                with open(path) as f:
                    result = json.load(f)
            except (TypeError, OSError, ValueError):
                continue
            if result.get('key') == self.key:
                return result
        return None

    def finished(self) -> bool:
        return self.result() is not None

    @property
    def weights(self) -> Optional[str]:
        """``OUT/results/ARM/seedS.pth``: a pretrain's final weights, kept
        with its result (and published with it), which the arms load."""
        return None if self.archive is None else osp.splitext(self.archive)[0] + '.pth'

    def has_weights(self) -> bool:
        """Its archived weights are there and come from exactly this config."""
        if self.weights is None or not osp.isfile(self.weights):
            return False
        import torch
        try:
            meta = torch.load(self.weights, map_location='cpu', weights_only=True)['meta']
        except Exception:  # noqa: BLE001  (truncated, or not a checkpoint: train it again)
            return False
        return meta.get('key') == self.key


def archive_weights(run: Run) -> None:
    """Keep the model weights of ``run``'s last checkpoint (no optimizer
    state) in ``run.weights``, tagged with the run's key."""
    import torch
    pointer = osp.join(run.dir, 'last_checkpoint')
    if not osp.isfile(pointer):
        raise RunFailed(f'{run.label}: no checkpoint in {run.dir} (last_checkpoint) to keep '
                        'for the arms that load it')
    with open(pointer) as f:
        checkpoint = torch.load(f.read().strip(), map_location='cpu', weights_only=False)
    os.makedirs(osp.dirname(run.weights), exist_ok=True)
    torch.save(dict(state_dict=checkpoint['state_dict'],
                    meta=dict(key=run.key, iter=checkpoint['meta'].get('iter'))),
               run.weights + '.tmp')
    os.replace(run.weights + '.tmp', run.weights)


def adopt_archived(runs: list, archive: str) -> int:
    """Take the results (and a pretrain's weights) archived under
    ``archive/ARM/seedS.json`` that are exactly those of ``runs`` without a
    result: a program continued from a published report (``--resume-from``)
    trains only what it lacks. A local result of another config is kept
    beside it as ``seedS.KEY.json``; one of the same config (a stage 1
    published without its weights, taken again) is replaced. Returns how
    many results were taken."""
    taken = 0
    for run in runs:
        src = osp.join(archive, run.arm.name, f'seed{run.seed}.json')
        done = run.finished() and (not is_pretrain(run.arm.name) or run.has_weights())
        if run.archive is None or done or not osp.isfile(src):
            continue
        with open(src) as f:
            if json.load(f).get('key') != run.key:
                continue
        os.makedirs(osp.dirname(run.archive), exist_ok=True)
        for ext in ('.json', '.pth'):
            source, target = osp.splitext(src)[0] + ext, osp.splitext(run.archive)[0] + ext
            if not osp.isfile(source):
                continue
            if osp.isfile(target) and ext == '.json':
                with open(target) as f:
                    old = json.load(f).get('key', 'unknown')
                if old != run.key:
                    os.replace(target, f'{osp.splitext(target)[0]}.{old}.json')
            shutil.copy2(source, target)
        taken += 1
    return taken


def set_val_points(cfg: Config, points: int) -> None:
    """Validate about ``points`` times over the schedule (every
    ``max_epochs // points`` epochs, and at the end; an iteration-based loop
    every ``max_iters // points`` iterations), each logged at its training
    iteration."""
    loop = cfg.train_cfg
    if 'max_epochs' in loop:
        loop.val_interval = max(1, loop.max_epochs // points)
    else:
        loop.val_interval = max(1, loop.max_iters // points)
    cfg.default_hooks.logger.log_metric_by_epoch = False


def ensure_data(spec: ExperimentSpec, repo_root: str = '.') -> None:
    """Write the spec's synthetic dataset unless it is there already with
    the same settings. A folder the runner did not write is never replaced."""
    if not spec.data:
        return
    from hrgan_plugin.datasets import write_synthetic_dataset
    settings = dict(spec.data)
    root = osp.join(repo_root, settings.pop('root'))
    marker = osp.join(root, '.settings.json')
    if osp.isfile(marker):
        with open(marker) as f:
            if json.load(f) == settings:
                return
    elif osp.isdir(root) and os.listdir(root):
        raise SpecError(f'{spec.path}: data.root {root} holds files the experiment runner did '
                        'not write; remove it or choose another root')
    print(f'writing the synthetic dataset {root} ({settings})', flush=True)
    shutil.rmtree(root, ignore_errors=True)
    counts = write_synthetic_dataset(root, **settings)
    for split, c in counts.items():
        print(f'  {split}: {c["coco_instances"]} persons, {c["hidden"]} of {c["keypoints"]} '
              f'labelled keypoints hidden', flush=True)
    with open(marker, 'w') as f:
        json.dump(settings, f)


def clear(run: Run) -> None:
    """Make room for a fresh run: a finished run of another config is kept
    beside it as ``seedS.KEY``; a half-written one is removed."""
    try:
        with open(run.result_file) as f:
            old_key = json.load(f)['key']
    except (OSError, ValueError, KeyError):
        shutil.rmtree(run.dir, ignore_errors=True)
        return
    kept = f'{run.dir}.{old_key}'
    shutil.rmtree(kept, ignore_errors=True)
    os.replace(run.dir, kept)
    why = 'trained again' if old_key == run.key else 'the config changed'
    print(f'{run.label}: {why}; the earlier run is kept in {kept}', flush=True)


def prepare(run: Run) -> None:
    """An empty run folder (see :func:`clear`) holding the run's ``config.py``
    and its key (``run_key``: what :func:`resume_point` checks)."""
    clear(run)
    os.makedirs(run.dir)
    run.cfg.dump(osp.join(run.dir, 'config.py'))
    with open(osp.join(run.dir, 'run_key'), 'w') as f:
        f.write(run.key)


def resume_point(run: Run) -> Optional[str]:
    """The checkpoint an interrupted run continues from: the one its
    ``last_checkpoint`` names (found in the folder, if moved since), when
    the folder was prepared for exactly this config, holds no result yet and
    the checkpoint loads; else None (the run starts afresh). It continues as
    if uninterrupted when its config re-seeds every epoch (EpochSeedHook)."""
    try:
        with open(osp.join(run.dir, 'run_key')) as f:
            if f.read().strip() != run.key:
                return None
        with open(osp.join(run.dir, 'last_checkpoint')) as f:
            checkpoint = f.read().strip()
    except OSError:
        return None
    if osp.isfile(run.result_file):
        return None
    if not osp.isfile(checkpoint):  # named by its path before the folder moved
        checkpoint = osp.join(run.dir, osp.basename(checkpoint))
    import torch
    try:
        # mmap: the archive's index and objects are read, the tensors not (the
        # trainer loads them); a save cut short has no index and fails here
        torch.load(checkpoint, map_location='cpu', weights_only=False, mmap=True)
    except Exception:  # noqa: BLE001  (killed mid-save, or not a checkpoint)
        return None
    return checkpoint


def start_run(run: Run) -> Optional[str]:
    """Ready ``run``'s folder for training: kept when the run continues from
    its :func:`resume_point` (returned; config and ``last_checkpoint`` name
    the current paths, a moved folder's named its old ones), else prepared
    afresh (:func:`prepare`; returns None)."""
    checkpoint = resume_point(run)
    if checkpoint is None:
        prepare(run)
        return None
    run.cfg.dump(osp.join(run.dir, 'config.py'))
    with open(osp.join(run.dir, 'last_checkpoint'), 'w') as f:
        f.write(checkpoint)
    return checkpoint


def _start_segment(run: Run, start: float, resume: bool) -> list:
    """Record a training segment starting at ``start`` in ``segments.json``
    (``[begin, end]`` pairs: a fresh run's first, or one more of a resumed
    run's) and return them all. An interrupted segment ends at its last
    checkpoint (later work is done again)."""
    path = osp.join(run.dir, 'segments.json')
    segments = []
    if resume:
        try:
            with open(path) as f:
                segments = json.load(f)
        except (OSError, ValueError):
            segments = []
        with open(osp.join(run.dir, 'last_checkpoint')) as f:
            saved = osp.getmtime(f.read().strip()) if segments else 0.0
        for segment in segments:
            if segment[1] is None:
                segment[1] = max(segment[0], saved)
    segments.append([start, None])
    with open(path, 'w') as f:
        json.dump(segments, f)
    return segments


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('', 0))
        return s.getsockname()[1]


def train_command(run_dir: str, tools_dir: str, nproc: int = 1) -> list:
    """``tools/train.py`` on the run's ``config.py``; with ``nproc > 1``
    under torchrun (one process per GPU, a free port on this node)."""
    args = [osp.join(tools_dir, 'train.py'), osp.join(run_dir, 'config.py'), '--work-dir', run_dir]
    if nproc <= 1:
        return [sys.executable, *args]
    return [sys.executable, '-m', 'torch.distributed.run', f'--nproc_per_node={nproc}',
            f'--master_port={_free_port()}', *args, '--launcher', 'pytorch']


def train_prepared(run: Run, env: dict, curve_keys: list, mechanism_samples: int | None,
                   tools_dir: str, nproc: int = 1, resume: bool = False) -> dict:
    """Train a prepared run (:func:`prepare`) from scratch, or with
    ``resume`` from its :func:`resume_point`, read its log, run its mechanism
    checks and write ``result.json``; returns the result (``wall_s`` sums the
    segments' training time, ``segments`` counts them). Raises
    :class:`RunFailed` naming the log of the step that failed."""
    log = osp.join(run.dir, 'train.log')
    begin = time.time()
    segments = _start_segment(run, begin, resume)
    command = train_command(run.dir, tools_dir, nproc) + (['--resume'] if resume else [])
    code = code_version(osp.dirname(tools_dir))  # what this segment trains on
    with open(log, 'a' if resume else 'w') as f:
        proc = subprocess.run(command, cwd=osp.dirname(tools_dir), env=env, stdout=f,
                              stderr=subprocess.STDOUT)
    wall = sum(end - start for start, end in segments[:-1]) + time.time() - begin
    if proc.returncode:
        raise RunFailed(f'{run.label} failed (exit {proc.returncode}); see {log}')
    result = dict(arm=run.arm.name, seed=run.seed, key=run.key, wall_s=wall,
                  threads=thread_count(env), cpu=cpu_model(), packages=package_versions(),
                  code=code, segments=len(segments),
                  **summarise_run(read_scalars(run.dir), curve_keys))
    result['metrics'].update(mechanism_checks(run, env, mechanism_samples, tools_dir))
    if is_pretrain(run.arm.name) and run.archive:
        archive_weights(run)  # before the result: a result means its weights are there
    keep_logs(run.dir, run.archive)
    for path in filter(None, (run.result_file, run.archive)):
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path + '.tmp', 'w') as f:
            json.dump(result, f)
        os.replace(path + '.tmp', path)
    return result


def mechanism_checks(run: Run, env: dict, max_samples: int | None, tools_dir: str) -> dict:
    """``tools/mechanism_check.py`` on the run's last checkpoint: the checks
    that apply to its model, as ``mech/...`` metrics (none, and no process
    started, for a model without a discriminator or an augmentation hook)."""
    hooks = [h.get('type') for h in run.cfg.get('custom_hooks', [])]
    if 'discriminator' not in run.cfg.model and 'AdversarialAugmentationHook' not in hooks:
        return {}
    with open(osp.join(run.dir, 'last_checkpoint')) as f:
        checkpoint = f.read().strip()
    out = osp.join(run.dir, 'mechanisms.json')
    samples = ['--max-samples', str(max_samples)] if max_samples else []
    with open(osp.join(run.dir, 'mechanism_check.log'), 'w') as log:
        proc = subprocess.run([sys.executable, osp.join(tools_dir, 'mechanism_check.py'),
                               osp.join(run.dir, 'config.py'), checkpoint, '--out', out,
                               *samples], cwd=osp.dirname(tools_dir), env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RunFailed(f'{run.label}: mechanism check failed (exit {proc.returncode}); see '
                        f'{log.name}')
    with open(out) as f:
        return json.load(f)


def fmt_s(seconds: float) -> str:
    """Seconds as ``H:MM:SS``."""
    return str(datetime.timedelta(seconds=int(seconds)))


def result_line(run: Run, result: dict, head: str) -> str:
    """A finished run in one line: metric ``head``, iterations and time."""
    return (f'{run.label}: {head} = {result["metrics"].get(head, float("nan")):.4f}, '
            f'{result["iters"]} iters in {fmt_s(result["wall_s"])}')


def missing_metrics(run: Run, result: dict, metrics) -> str | None:
    """A warning line when the run logged none of some of ``metrics``."""
    missing = [m for m in metrics if m not in result['metrics']]
    if missing:
        return (f"warning: {run.label} logged no {missing}; the spec's metrics must be among "
                f'{sorted(result["metrics"])}')
    return None
