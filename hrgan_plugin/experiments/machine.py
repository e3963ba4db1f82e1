"""The kind of CPU a run trained on: CPU results repeat bit for bit at one
thread count on the same kind of CPU, while another (another vendor, or
another vector instruction set: AVX-512 against AVX2) may round
differently; each result records it, and ``tools/reproduce.py`` says when
the machine differs."""
from __future__ import annotations

import platform


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
