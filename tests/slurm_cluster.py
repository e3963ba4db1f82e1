"""A one-node SLURM cluster on localhost, everything in one folder: its own
munge key and socket, slurm.conf, state, spool and logs, two fake GPUs
(``/dev/null`` symlinks), free ports. The tests use it through the
``slurm_cluster`` fixture (tests/conftest.py); by hand::

    python tests/slurm_cluster.py /tmp/slurm   # prints export SLURM_CONF=...; Ctrl-C stops it

It needs Debian's (or Ubuntu's) ``slurmctld``, ``slurmd``, ``slurm-client``
and ``munge`` packages (SLURM 22.05 tested) and installs them with apt-get
when they are missing (as root, or through passwordless sudo).
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import os.path as osp
import shutil
import signal
import socket
import subprocess
import sys
import time
from typing import Iterator, Optional

PACKAGES = {  # a program the cluster needs: its Debian package
    'munged': 'munge', 'slurmctld': 'slurmctld', 'slurmd': 'slurmd', 'sbatch': 'slurm-client',
    'srun': 'slurm-client', 'squeue': 'slurm-client', 'scontrol': 'slurm-client',
    'scancel': 'slurm-client', 'sinfo': 'slurm-client', 'sacct': 'slurm-client'}
SEARCH_PATH = os.pathsep.join([os.environ.get('PATH', ''), '/usr/sbin', '/sbin'])
INSTALL_LOCK = '/tmp/hrgan_plugin-slurm-install.lock'
LIVE = ('PENDING', 'CONFIGURING', 'RUNNING', 'COMPLETING', 'SUSPENDED')

SLURM_CONF = """\
ClusterName=hrgantest
SlurmctldHost=localhost
SlurmUser={user}
SlurmdUser={user}
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={root}/munge/munge.socket.2
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={root}/log/jobcomp.txt
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
GresTypes=gpu
EnforcePartLimits=ALL
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
SlurmdParameters=config_overrides
MinJobAge=600
KillWait=2
InactiveLimit=0
NodeName=localhost CPUs={cpus} Gres=gpu:{gpus} State=UNKNOWN
PartitionName={partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


class ClusterUnavailable(RuntimeError):
    """The cluster cannot be started here; the message names what is missing."""


def which(program: str) -> Optional[str]:
    """``program`` on PATH or in /usr/sbin, /sbin."""
    return shutil.which(program, path=SEARCH_PATH)


def missing_programs() -> list[str]:
    return [p for p in PACKAGES if which(p) is None]


def ensure_packages() -> None:
    """Install the Debian packages of the missing programs (apt-get as root
    or through ``sudo -n``); one process at a time (a file lock), so two
    test workers do not both run apt. Raises :class:`ClusterUnavailable`
    naming the programs and packages when that is impossible."""
    if not missing_programs():
        return
    with open(INSTALL_LOCK, 'a') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        missing = missing_programs()
        if not missing:
            return
        packages = sorted({PACKAGES[p] for p in missing})
        what = f"{', '.join(missing)} not installed (Debian packages {' '.join(packages)})"
        if which('apt-get') is None:
            raise ClusterUnavailable(f'{what}, and no apt-get to install them')
        if os.geteuid() == 0:
            prefix = []
        elif which('sudo') and subprocess.run(['sudo', '-n', 'true'],
                                              capture_output=True).returncode == 0:
            prefix = ['sudo', '-n']
        else:
            raise ClusterUnavailable(f'{what}, and apt-get needs root (no passwordless sudo)')
        install = [*prefix, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get', 'install', '-y',
                   '-q', '--no-install-recommends', *packages]
        proc = subprocess.run(install, capture_output=True, text=True)
        if proc.returncode:  # a fresh machine may have no package lists yet
            subprocess.run([*prefix, 'apt-get', 'update', '-q'], capture_output=True)
            proc = subprocess.run(install, capture_output=True, text=True)
        if proc.returncode or missing_programs():
            last = (proc.stderr.strip().splitlines() or ['no output'])[-1]
            raise ClusterUnavailable(f"{what}; '{' '.join(install)}' failed: {last}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In a daemon's child process: SIGTERM when the process that started
    it dies, so a killed test run leaves no daemon behind."""
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class LocalSlurm:
    """munged, slurmctld and slurmd of a one-node cluster kept in ``root``.

    ``start()`` writes the configuration and starts the daemons in the
    foreground of child processes (so their PIDs are known); ``stop()``
    cancels every job, stops the daemons by PID and returns the PIDs of
    any of its processes still alive (none, normally).
    """

    def __init__(self, root: str, cpus: int = 16, gpus: int = 2, partition: str = 'debug'):
        self.root = osp.abspath(root)
        self.cpus, self.gpus, self.partition = cpus, gpus, partition
        self.conf = osp.join(self.root, 'slurm.conf')
        self.procs: dict[str, subprocess.Popen] = {}

    def env(self, **extra: str) -> dict:
        """This process's environment with ``SLURM_CONF`` pointing here."""
        return dict(os.environ, SLURM_CONF=self.conf, **extra)

    def run(self, *args: str, check: bool = True, timeout: float = 60,
            **kwargs) -> subprocess.CompletedProcess:
        """A SLURM client command (``sinfo``, ``sbatch`` ...) on this cluster."""
        proc = subprocess.run([which(args[0]) or args[0], *args[1:]], env=self.env(),
                              capture_output=True, text=True, timeout=timeout, **kwargs)
        if check and proc.returncode:
            raise RuntimeError(f'{" ".join(args)} failed (exit {proc.returncode}): '
                               f'{proc.stderr.strip()}')
        return proc

    def _write_files(self) -> None:
        for sub in ('munge', 'state', 'spool', 'run', 'log', 'dev'):
            os.makedirs(osp.join(self.root, sub), exist_ok=True)
        os.chmod(osp.join(self.root, 'munge'), 0o755)  # munged refuses other modes
        key = osp.join(self.root, 'munge', 'munge.key')
        with open(os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 'wb') as f:
            f.write(os.urandom(1024))
        for i in range(self.gpus):  # gres File= must be a character device
            dev = osp.join(self.root, 'dev', f'gpu{i}')
            if not osp.islink(dev):
                os.symlink('/dev/null', dev)
        import pwd
        with open(self.conf, 'w') as f:
            f.write(SLURM_CONF.format(
                user=pwd.getpwuid(os.geteuid()).pw_name, root=self.root, cpus=self.cpus,
                gpus=self.gpus, partition=self.partition, ctld_port=free_port(),
                slurmd_port=free_port()))
        files = f'{self.root}/dev/gpu[0-{self.gpus - 1}]' if self.gpus > 1 else \
            f'{self.root}/dev/gpu0'
        with open(osp.join(self.root, 'gres.conf'), 'w') as f:
            f.write(f'AutoDetect=off\nNodeName=localhost Name=gpu File={files}\n'
                    if self.gpus else '')

    def _daemon(self, name: str, *args: str) -> None:
        log = open(osp.join(self.root, 'log', f'{name}.out'), 'w')
        self.procs[name] = subprocess.Popen(
            [which(name), *args], env=self.env(), stdout=log, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent)
        log.close()

    def _wait(self, what: str, ready, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    raise ClusterUnavailable(
                        f'{name} exited ({proc.returncode}) while waiting for {what}; see '
                        f'{self.root}/log/{name}.out and {name}.log')
            if time.monotonic() > deadline:
                raise ClusterUnavailable(f'{what} not ready after {timeout:.0f} s; see '
                                         f'{self.root}/log/')
            time.sleep(0.1)

    def start(self, timeout: float = 30) -> LocalSlurm:
        """Start munged, slurmctld and slurmd; returns once the node is idle."""
        ensure_packages()
        self._write_files()
        m = osp.join(self.root, 'munge')
        self._daemon('munged', '--foreground', '--force', f'--socket={m}/munge.socket.2',
                     f'--key-file={m}/munge.key', f'--pid-file={m}/munged.pid',
                     f'--log-file={self.root}/log/munged.log', f'--seed-file={m}/munged.seed')
        self._wait('munged', lambda: osp.exists(f'{m}/munge.socket.2'), timeout)
        self._daemon('slurmctld', '-D', '-i', '-f', self.conf)
        self._wait('slurmctld', lambda: 'UP' in self.run('scontrol', 'ping', check=False).stdout,
                   timeout)
        self._daemon('slurmd', '-D', '-N', 'localhost', '-f', self.conf)
        self._wait('slurmd (node localhost idle)', lambda: self.run(
            'sinfo', '-h', '-N', '-o', '%T', check=False).stdout.strip() == 'idle', timeout)
        return self

    def jobs(self) -> list[str]:
        """Ids of the jobs (of a job array: its id) SLURM still runs or
        holds (pending, running)."""
        out = self.run('squeue', '-h', '-o', '%F %T', check=False).stdout.split('\n')
        return sorted({line.split()[0] for line in out
                       if line.strip() and line.split()[1] in LIVE}, key=int)

    def stop(self, timeout: float = 30) -> list[int]:
        """Cancel every job, wait for them to end, stop the daemons by PID;
        returns the PIDs of this cluster's processes still alive."""
        if self.procs.get('slurmctld') and self.procs['slurmctld'].poll() is None:
            jobs = self.jobs()
            if jobs:
                self.run('scancel', *jobs, check=False)
                deadline = time.monotonic() + timeout
                while self.jobs() and time.monotonic() < deadline:
                    time.sleep(0.2)
        for name in ('slurmd', 'slurmctld', 'munged'):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.terminate()
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout)
        return self.leftover()

    def leftover(self) -> list[int]:
        """PIDs of live processes started by this cluster: the daemons, and
        any process whose command line or environment names its folder
        (job steps and their tasks inherit ``SLURM_CONF``)."""
        pids = [p.pid for p in self.procs.values() if p.poll() is None]
        marker = (self.root + os.sep).encode()
        for entry in os.listdir('/proc'):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                with open(f'/proc/{entry}/cmdline', 'rb') as f:
                    cmdline = f.read()
                with open(f'/proc/{entry}/environ', 'rb') as f:
                    environ = f.read()
                with open(f'/proc/{entry}/stat') as f:
                    zombie = f.read().rsplit(')', 1)[1].split()[0] == 'Z'
                if not zombie and (marker in cmdline or marker in environ):
                    pids.append(int(entry))
        return sorted(set(pids))


def scontrol_job(cluster: LocalSlurm, job: str) -> dict:
    """``scontrol show job``'s fields of ``job`` (``JobState``, ``Reason``, ...)."""
    out = cluster.run('scontrol', '-o', 'show', 'job', job).stdout
    return dict(item.split('=', 1) for item in out.split() if '=' in item)


@contextlib.contextmanager
def local_slurm(root: str, **kwargs) -> Iterator[LocalSlurm]:
    """A started :class:`LocalSlurm`, stopped on exit (also after an error)."""
    cluster = LocalSlurm(root, **kwargs)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def main() -> int:
    if len(sys.argv) != 2 or sys.argv[1].startswith('-'):
        print(__doc__.split('::')[1].split('\n\n')[0].strip(), file=sys.stderr)
        return 2
    try:
        with local_slurm(sys.argv[1]) as cluster:
            print(f'export SLURM_CONF={cluster.conf}   # partition '
                  f'{cluster.partition}, {cluster.cpus} CPUs, {cluster.gpus} fake GPUs', flush=True)
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
            signal.sigwait({signal.SIGINT, signal.SIGTERM})
    except ClusterUnavailable as err:
        print(f'error: {err}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
