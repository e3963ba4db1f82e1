"""The experiment runner on SLURM (``tools/experiment.py --launcher slurm``).

Submission: the pending runs' folders are prepared here (``config.py``
written), then submitted with ``sbatch --array``: the pretrain runs first,
then the arms, which wait for the pretrain they load (their seed's, or the
shared one) with ``--dependency=afterok:JOB_TASK`` (one array per such
pretrain; the runs with
nothing to wait for are one array). Each array task runs
``python -m hrgan_plugin.experiments.slurm TASKS.json``, which trains the
run at index ``SLURM_ARRAY_TASK_ID`` as the local runner does and writes its
``result.json`` (or ``failed.txt`` naming the log of the step that failed).
A run interrupted after a checkpoint (a task requeued by preemption or
``--requeue``, or a failed run submitted again) continues from its last
checkpoint, as on the local runner (:func:`~.runs.resume_point`).

Bookkeeping in ``OUT/slurm/``: ``submitted.json`` (each job id and the runs,
by folder and key, its tasks train), ``tasks/*.json`` and the tasks' logs
``logs/JOB_TASK.out``. The runner polls ``squeue`` and prints progress;
interrupting it leaves the jobs running, and the same command later waits
for the runs still pending or running in SLURM instead of submitting them
again. The compute nodes must see the output folder, the repository and
this Python at the same paths (a shared file system).
"""
from __future__ import annotations

import datetime
import getpass
import json
import os
import os.path as osp
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Optional

from .results import RunFailed
from .runs import Run, fmt_s, missing_metrics, result_line, start_run, train_prepared

#: job states in which a task still runs or will run
LIVE = ('PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED', 'REQUEUED',
        'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SIGNALING', 'STAGE_OUT')
RUNNING = ('CONFIGURING', 'RUNNING', 'COMPLETING', 'SIGNALING', 'STAGE_OUT')
FAILED_FILE = 'failed.txt'


class SlurmError(RuntimeError):
    """A SLURM command failed; the message names the command and its error."""


@dataclass
class SlurmOptions:
    """How runs are submitted: ``partition`` (None: the cluster's default),
    GPUs per run (0: CPU; more than 1: torchrun in the task), further
    ``sbatch`` options, at most ``jobs`` tasks of an array at once (None: no
    limit) and the seconds between checks."""
    partition: Optional[str] = None
    gpus_per_run: int = 1
    extra: list = field(default_factory=list)
    jobs: Optional[int] = None
    poll: float = 10.0

    def environment(self) -> dict:
        """The report's machine and date lines for runs trained on SLURM."""
        import torch
        where = f'partition {self.partition}' if self.partition else 'default partition'
        device = f'{self.gpus_per_run} GPU(s) per run' if self.gpus_per_run else 'CPU'
        return {'machine': f'SLURM, {where}, {device}; torch {torch.__version__}',
                'written': datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}


@dataclass
class Task:
    """One array task: the run it trains, its job id and index, its log."""
    run: Run
    job: str
    index: int
    log: str

    @property
    def id(self) -> str:
        return f'{self.job}_{self.index}'


def slurm_command(*args: str) -> str:
    """Run a SLURM client command; returns its stdout. Raises
    :class:`SlurmError` with the command and its error line."""
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise SlurmError(f'{args[0]} not found: run --launcher slurm where the SLURM client '
                         'commands are installed (a login node)') from None
    except subprocess.TimeoutExpired:
        raise SlurmError(f'{args[0]} did not answer in 120 s') from None
    if proc.returncode:
        lines = proc.stderr.strip().splitlines() or [f'exit {proc.returncode}']
        raise SlurmError(f'{args[0]} failed: {lines[-1]}')
    return proc.stdout


def queue_states() -> dict:
    """``{JOB_TASK: (state, reason)}`` of this user's array tasks in the queue."""
    out = slurm_command('squeue', '-u', getpass.getuser(), '-h', '-r', '-o', '%i|%T|%r')
    states = {}
    for line in out.splitlines():
        if line.count('|') == 2:
            task, state, reason = line.split('|')
            states[task.strip()] = (state.strip(), reason.strip())
    return states


def final_state(task_id: str) -> dict:
    """``JobState``, ``Reason`` and ``ExitCode`` of a task that left the
    queue (``scontrol show job``, while the controller keeps it); empty when
    it is gone."""
    try:
        out = slurm_command('scontrol', '-o', 'show', 'job', task_id)
    except SlurmError:
        return {}
    fields = dict(item.split('=', 1) for item in out.split() if '=' in item)
    return {k: fields[k] for k in ('JobState', 'Reason', 'ExitCode') if k in fields}


def read_ledger(out: str) -> list:
    """The jobs submitted for this output folder (``slurm/submitted.json``)."""
    path = osp.join(out, 'slurm', 'submitted.json')
    if not osp.isfile(path):
        return []
    with open(path) as f:
        return json.load(f)['jobs']


def _add_to_ledger(out: str, entry: dict) -> None:
    path = osp.join(out, 'slurm', 'submitted.json')
    jobs = read_ledger(out) + [entry]
    with open(path + '.tmp', 'w') as f:
        json.dump({'jobs': jobs}, f, indent=1)
    os.replace(path + '.tmp', path)


def submit(runs: list, spec, out: str, options: SlurmOptions, tools_dir: str,
           after: Optional[list] = None) -> list:
    """Prepare ``runs`` and submit them as one array (after the tasks
    ``after`` succeed, if given); returns their :class:`Task` s."""
    folder = osp.join(out, 'slurm')
    for sub in ('logs', 'tasks'):
        os.makedirs(osp.join(folder, sub), exist_ok=True)
    for run in runs:
        checkpoint = start_run(run)
        if checkpoint is not None:
            print(f'{run.label}: continues from {checkpoint}', flush=True)
    stamp = datetime.datetime.now().strftime('%Y%m%d_%H%M%S_%f')
    task_file = osp.join(folder, 'tasks', f'{stamp}.json')
    with open(task_file, 'w') as f:
        json.dump(dict(tools=tools_dir, gpus=options.gpus_per_run, metrics=list(spec.metrics),
                       curves=spec.curves, mechanism_samples=spec.mechanism_samples,
                       runs=[dict(dir=r.dir, key=r.key, arm=r.arm.name, config=r.arm.config,
                                  seed=r.seed, archive=r.archive) for r in runs]), f, indent=1)
    array = f'0-{len(runs) - 1}' + (f'%{options.jobs}' if options.jobs else '')
    cmd = ['sbatch', '--parsable', f'--job-name=exp-{spec.name}', f'--array={array}',
           '--ntasks=1', f'--output={folder}/logs/%A_%a.out', f'--chdir={osp.dirname(tools_dir)}']
    if options.partition:
        cmd += ['--partition', options.partition]
    if options.gpus_per_run:
        cmd.append(f'--gres=gpu:{options.gpus_per_run}')
    if after:
        cmd += ['--dependency=afterok:' + ':'.join(after), '--kill-on-invalid-dep=yes']
    task = f'{shlex.quote(sys.executable)} -m {__name__} {shlex.quote(task_file)}'
    job = slurm_command(*cmd, *options.extra, '--wrap', f'exec {task}').strip().split(';')[0]
    _add_to_ledger(out, dict(job=job, task_file=task_file,
                             runs=[dict(dir=r.dir, key=r.key) for r in runs]))
    return [_task(out, run, job, i) for i, run in enumerate(runs)]


def _task(out: str, run: Run, job: str, index: int) -> Task:
    return Task(run, job, index, osp.join(out, 'slurm', 'logs', f'{job}_{index}.out'))


def run_on_slurm(spec, pretrains: list, pending: list, out: str, options: SlurmOptions,
                 tools_dir: str) -> list:
    """Train the pending pretrain runs and runs on SLURM, picking up those
    a former runner submitted that are still in the queue; wait for all of
    them. Returns the failures' messages."""
    states = queue_states()
    live = {}  # (folder, key): (job, index) of a task still in SLURM
    for entry in read_ledger(out):
        for i, r in enumerate(entry['runs']):
            if f'{entry["job"]}_{i}' in states:
                live[(r['dir'], r['key'])] = (entry['job'], i)

    def split(runs: list) -> tuple:
        """The runs' tasks still in SLURM, and the runs to submit."""
        picked = [_task(out, r, *live[(r.dir, r.key)]) for r in runs if (r.dir, r.key) in live]
        return picked, [r for r in runs if (r.dir, r.key) not in live]

    pre_picked, pre_new = split(pretrains)
    arms_picked, arms_new = split(pending)
    pre = pre_picked + (submit(pre_new, spec, out, options, tools_dir) if pre_new else [])
    task_of = {t.run.dir: t.id for t in pre}  # a pretrain run's task, by its folder
    groups: dict = {}  # one array per pretrain run waited for, one for the rest
    for run in arms_new:
        stage1 = run.pretrain.dir if run.pretrain is not None else None
        groups.setdefault(stage1 if stage1 in task_of else None, []).append(run)
    tasks = pre + arms_picked
    for stage1, runs in groups.items():
        tasks += submit(runs, spec, out, options, tools_dir,
                        [task_of[stage1]] if stage1 is not None else None)
    picked = pre_picked + arms_picked
    submitted = sorted({t.job for t in tasks} - {t.job for t in picked}, key=int)
    if submitted:
        print(f'SLURM: submitted job(s) {", ".join(submitted)}; logs in {out}/slurm/logs/',
              flush=True)
    if picked:
        print(f'SLURM: picked up {len(picked)} run(s) still queued or running in job(s) '
              f'{", ".join(sorted({t.job for t in picked}, key=int))}', flush=True)
    return wait(spec, tasks, options)


def _failure(task: Task) -> str:
    """Why a task ended without a result, naming the log to read."""
    end = final_state(task.id)
    where = (f'SLURM task {task.id} {end.get("JobState", "ended")}'
             + (f', exit {end["ExitCode"]}' if end.get('ExitCode', '0:0') != '0:0' else ''))
    failed = osp.join(task.run.dir, FAILED_FILE)
    if osp.isfile(failed):
        with open(failed) as f:
            return f'{f.read().strip()} ({where}; SLURM log {task.log})'
    if end.get('Reason') == 'DependencyNeverSatisfied':
        return f'{task.run.label} not started: its pretrain run failed ({where})'
    return f'{task.run.label}: {where} without a result; see {task.log}'


def wait(spec, tasks: list, options: SlurmOptions) -> list:
    """Poll the queue until every task has a result or has failed, printing
    each result, each failure with its log, and the counts with an ETA
    whenever they change (at least every minute). Returns the failures."""
    head = next(iter(spec.metrics))
    left, failures, done = list(tasks), [], 0
    start, last, shown = time.monotonic(), '', 0.0
    while left:
        try:
            states = queue_states()
        except SlurmError as err:  # a busy controller: try again at the next poll
            print(f'warning: {err}', flush=True)
            time.sleep(options.poll)
            continue
        for task in list(left):
            result = task.run.result()
            if result is not None:
                warning = missing_metrics(task.run, result, spec.metrics)
                if warning:
                    print(warning, flush=True)
                left.remove(task)
                done += 1
                print(f'[{done + len(failures)}/{len(tasks)}] '
                      f'{result_line(task.run, result, head)}', flush=True)
            elif task.id not in states:
                left.remove(task)
                failures.append(_failure(task))
                print(f'[{done + len(failures)}/{len(tasks)}] {failures[-1]}', flush=True)
        running = sum(states.get(t.id, ('',))[0] in RUNNING for t in left)
        line = (f'SLURM: {done}/{len(tasks)} done, {running} running, '
                f'{len(left) - running} pending, {len(failures)} failed')
        ended, elapsed = done + len(failures), time.monotonic() - start
        if line != last or time.monotonic() - shown > 60:
            eta = fmt_s(elapsed / ended * len(left)) if ended else 'unknown'
            print(f'{line}; ETA {eta}' if left else line, flush=True)
            last, shown = line, time.monotonic()
        if left:
            time.sleep(options.poll)
    return failures


def run_task(task_file: str, index: int) -> int:
    """In an array task: train run ``index`` of ``task_file``; on failure
    write the message to the run's ``failed.txt`` and return 1."""
    from mmengine.config import Config

    from .spec import Arm
    with open(task_file) as f:
        task = json.load(f)
    entry = task['runs'][index]
    run = Run(Arm(entry['arm'], entry['config']), entry['seed'], entry['dir'],
              Config.fromfile(osp.join(entry['dir'], 'config.py')), entry['key'],
              entry.get('archive'))
    env = dict(os.environ)
    if not task['gpus']:
        env['CUDA_VISIBLE_DEVICES'] = ''
    if 'OMP_NUM_THREADS' not in env and 'SLURM_CPUS_PER_TASK' in env:
        env['OMP_NUM_THREADS'] = env['SLURM_CPUS_PER_TASK']
    if osp.isfile(osp.join(run.dir, FAILED_FILE)):  # an earlier attempt's
        os.remove(osp.join(run.dir, FAILED_FILE))
    checkpoint = start_run(run)  # a requeued task continues where it stopped
    where = f'from {checkpoint}' if checkpoint else 'from scratch'
    print(f'{run.label}: {run.dir} on {os.uname().nodename}, {where}', flush=True)
    try:
        result = train_prepared(run, env, task['curves'], task['mechanism_samples'],
                                task['tools'], nproc=max(1, task['gpus']),
                                resume=checkpoint is not None)
    except (RunFailed, OSError) as err:
        with open(osp.join(run.dir, FAILED_FILE), 'w') as f:
            f.write(f'{err}\n')
        print(f'error: {err}', file=sys.stderr)
        return 1
    print(result_line(run, result, task['metrics'][0]), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(run_task(sys.argv[1], int(os.environ['SLURM_ARRAY_TASK_ID'])))
