"""What a run computed on: the kind of CPU, the numeric packages and the
commit of this repository. CPU results repeat bit for bit at one thread
count on the same kind of CPU with the same packages and code, while another
CPU (another vendor, or another vector instruction set: AVX-512 against
AVX2) or another OpenCV or torch release may round differently; each result
records all three, and ``tools/reproduce.py`` names what differs when a
rerun disagrees."""
from __future__ import annotations

import importlib.metadata
import platform
import subprocess

#: the distributions whose releases can change a run's numbers
PACKAGES = ('torch', 'torchvision', 'numpy', 'opencv-python', 'mmcv', 'mmengine', 'mmpose')
#: the folders of this repository that a run's numbers depend on
CODE_DIRS = ('hrgan_plugin', 'configs', 'tools')


def cpu_model(cpuinfo: str = '/proc/cpuinfo') -> str:
    """``MODEL NAME (family F model M, ISA)`` from ``cpuinfo``, ISA the
    widest of AVX-512, AVX2 and AVX the CPU has; ``platform.processor()``
    (or ``unknown``) where there is no such file."""
    try:
        with open(cpuinfo) as f:
            first = f.read().split('\n\n')[0]
    except OSError:
        return platform.processor() or 'unknown'
    fields = {}
    for line in first.splitlines():
        key, _, value = line.partition(':')
        fields.setdefault(key.strip(), value.strip())
    flags = set(fields.get('flags', '').split())
    isa = next((name for flag, name in (('avx512f', 'AVX-512'), ('avx2', 'AVX2'), ('avx', 'AVX'))
                if flag in flags), 'no AVX')
    return (f'{fields.get("model name", "unknown")} (family {fields.get("cpu family", "?")} '
            f'model {fields.get("model", "?")}, {isa})')


def thread_count(env: dict) -> int:
    """The intra-op threads a training started with ``env`` computes on."""
    import torch
    return int(env.get('OMP_NUM_THREADS') or torch.get_num_threads())


def package_versions() -> dict:
    """``{distribution: version}`` of :data:`PACKAGES` (``missing`` when not
    installed) and of Python."""
    versions = {'python': platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = 'missing'
    return versions


def _git(repo: str, *args: str) -> str:
    """stdout of ``git -C repo ARGS``; raises ``CalledProcessError`` (or
    ``OSError`` without git) when it fails."""
    return subprocess.run(['git', '-C', repo, *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def code_version(repo: str) -> str:
    """The commit ``repo`` is checked out at, ``+changes`` when files under
    hrgan_plugin/, configs/ or tools/ differ from it; ``unknown`` outside a
    git checkout."""
    try:
        commit = _git(repo, 'rev-parse', 'HEAD')
        changed = _git(repo, 'status', '--porcelain', '--', *CODE_DIRS)
    except (OSError, subprocess.CalledProcessError):
        return 'unknown'
    return commit + ('+changes' if changed else '')


def code_changes(committed: dict, rerun: dict, repo: str) -> str:
    """``code: A -> B (...)`` when the two results' ``code`` differ in
    hrgan_plugin/, configs/ or tools/ (``git diff`` in ``repo``), or either
    had local changes; '' when that code is the same or a result does not
    record it. A result is committed after its run, so the commits of a
    result and of its rerun usually differ elsewhere only."""
    a, b = committed.get('code', 'unknown'), rerun.get('code', 'unknown')
    if 'unknown' in (a, b) or a == b and '+changes' not in a:
        return ''
    if '+changes' in a + b:
        return f'code: {a} -> {b} (local changes)'
    try:
        files = _git(repo, 'diff', '--name-only', a, b, '--', *CODE_DIRS).split()
    except (OSError, subprocess.CalledProcessError):
        return f'code: {a} -> {b} (not comparable in {repo})'
    return f'code: {a} -> {b} ({len(files)} changed in {", ".join(CODE_DIRS)})' if files else ''


def differences(committed: dict, rerun: dict) -> list:
    """``what: committed -> rerun`` for the CPU (``cpu``) and each package
    (``packages``) two results name differently; empty when a result does
    not record them."""
    out = []
    if committed.get('cpu') and committed['cpu'] != rerun.get('cpu'):
        out.append(f'CPU: {committed["cpu"]} -> {rerun.get("cpu")}')
    old, new = committed.get('packages') or {}, rerun.get('packages') or {}
    out += [f'{name}: {version} -> {new.get(name, "missing")}'
            for name, version in sorted(old.items()) if new.get(name) != version]
    return out
