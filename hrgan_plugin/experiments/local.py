"""Training an experiment's runs on this machine, ``jobs`` at a time.

The runs are taken seed by seed (:func:`run_order`: within a seed each
stage-1 run followed by the arms that load it), a free slot taking the first
run in that order whose stage 1 has left its weights; so an arm starts as
soon as its own stage 1 ends, and a slot with nothing of this seed ready
starts the seed's next stage 1, then the next seed's. A program stopped
part-way leaves finished arms of the early seeds with their stage 1s, which
a partial report pairs, rather than every stage 1 and no arm; with one slot
and a stage 1 per arm, it leaves whole arms rather than a seed's stage 1s.
"""
from __future__ import annotations

import os
import os.path as osp
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Optional

from .machine import thread_count
from .results import RunFailed
from .runs import Run, fmt_s, missing_metrics, result_line, start_run, train_prepared
from .spec import ExperimentSpec, is_pretrain


def run_order(pretrains: list, runs: list) -> list:
    """``pretrains`` and ``runs`` seed by seed; within a seed each stage-1
    run directly followed by the arms that load it, then the arms that load
    none, each group in the spec's arm order."""
    place = {id(p): i for i, p in enumerate(pretrains)}

    def key(run: Run) -> tuple:
        stage1 = run if is_pretrain(run.arm.name) else run.pretrain
        return run.seed, place.get(id(stage1), len(pretrains)), run is not stage1

    return sorted([*pretrains, *runs], key=key)


def run_env(device: str, jobs: int, slot: int) -> dict:
    """The environment of the run in ``slot``: on CPU, the cores shared out
    between ``jobs`` runs (none set for one: the caller's); on CUDA, the
    slot's device."""
    env = dict(os.environ)
    if device == 'cpu':
        env['CUDA_VISIBLE_DEVICES'] = ''
        if jobs > 1:
            env['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // jobs))
    else:
        import torch
        if not torch.cuda.is_available():
            raise SystemExit('error: --device cuda but no CUDA device is visible')
        env['CUDA_VISIBLE_DEVICES'] = str(slot % torch.cuda.device_count())
    return env


def execute(run: Run, env: dict, curve_keys: list, mechanism_samples: Optional[int],
            tools_dir: str) -> dict:
    """Train one run in its own folder, continuing from its last checkpoint
    when an earlier attempt was interrupted, else from scratch; returns its
    result."""
    checkpoint = start_run(run)
    if checkpoint is not None:
        print(f'{run.label}: resuming from {checkpoint}', flush=True)
    env = same_threads(run, env, resumed=checkpoint is not None)
    return train_prepared(run, env, curve_keys, mechanism_samples, tools_dir,
                          resume=checkpoint is not None)


def same_threads(run: Run, env: dict, resumed: bool) -> dict:
    """``env`` with the thread count ``run`` began with: a fresh run records
    its own in its folder (``threads``), and a continued one keeps it,
    whatever share of the cores this program would give it, so that its
    segments compute alike (CPU results repeat bit for bit only at one
    thread count) and its result records the count it ran at."""
    path = osp.join(run.dir, 'threads')
    if resumed and osp.isfile(path):
        with open(path) as f:
            return {**env, 'OMP_NUM_THREADS': f.read().strip()}
    with open(path, 'w') as f:
        f.write(str(thread_count(env)))
    return env


def _blocked_by(run: Run, queued: list) -> bool:
    """``run`` loads the weights of a stage 1 that is still queued or running."""
    return run.pretrain is not None and any(run.pretrain is r for r in queued)


def _alone(run: Run, queued: list) -> bool:
    """``run`` is a stage 1 that every other queued run waits for (a shared
    one): nothing can run beside it, so it gets every core."""
    return is_pretrain(run.arm.name) and all(r.pretrain is run for r in queued if r is not run)


def _concurrency(queued: list) -> int:
    """How many of ``queued`` can ever train at once: a stage 1 and the runs
    that load it go one after the other, those runs side by side."""
    stage1 = [r for r in queued if is_pretrain(r.arm.name)]
    loose = [r for r in queued if not is_pretrain(r.arm.name) and not _blocked_by(r, stage1)]
    return len(loose) + sum(max(1, sum(r.pretrain is p for r in queued)) for p in stage1)


def train_local(spec: ExperimentSpec, pretrains: list, pending: list, jobs: int,
                device: str, tools_dir: str) -> list:
    """Train the stage-1 runs ``pretrains`` and the runs ``pending`` in
    :func:`run_order`, ``jobs`` at a time (on CPU each with its share of the
    cores: ``jobs`` or as many as can ever run at once; a shared stage 1
    runs alone); a run whose stage 1 failed is not started (a failure).
    Returns the failures' messages."""
    jobs = max(1, jobs)
    waiting = run_order(pretrains, pending)
    total, done, failures = len(waiting), 0, []
    alone = [r for r in waiting if _alone(r, waiting)]
    threads = min(jobs, _concurrency(waiting))  # fixed by the plan, not by timing
    running: dict[Future, tuple[Run, int]] = {}
    head = next(iter(spec.metrics))  # the metric shown in the progress lines
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        while running or waiting:
            queued = [*waiting, *(r for r, _ in running.values())]
            free = sorted(set(range(jobs)) - {slot for _, slot in running.values()})
            for run in [r for r in waiting if not _blocked_by(r, queued)][:len(free)]:
                waiting = [r for r in waiting if r is not run]
                slot = free.pop(0)
                env = run_env(device, 1 if any(run is r for r in alone) else threads, slot)
                future = pool.submit(execute, run, env, spec.curves, spec.mechanism_samples,
                                     tools_dir)
                running[future] = (run, slot)
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                run, _ = running.pop(future)
                done += 1
                elapsed = time.perf_counter() - start
                eta = elapsed / done * (total - done)
                try:
                    res = future.result()
                except RunFailed as err:
                    failures.append(str(err))
                    print(f'[{done}/{total}] {err}', flush=True)
                else:
                    warning = missing_metrics(run, res, spec.metrics)
                    if warning:
                        print(warning, flush=True)
                    print(f'[{done}/{total}] {result_line(run, res, head)}; ETA {fmt_s(eta)}',
                          flush=True)
                if is_pretrain(run.arm.name) and not run.has_weights():
                    orphans = [r for r in waiting if r.pretrain is run]
                    waiting = [r for r in waiting if r.pretrain is not run]
                    total -= len(orphans)
                    if orphans:
                        failures.append(f'{", ".join(r.label for r in orphans)}: not started, '
                                        f'their stage 1 ({run.label}) left no weights')
                        print(failures[-1], flush=True)
    return failures
