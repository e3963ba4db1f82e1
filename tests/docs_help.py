"""Print, as one JSON object, the ``--help`` text of every command named on
the command line, and the names registered in mmpose's and mmengine's
registries once hrgan_plugin is imported. Run in a subprocess by
tests/docs_commands.py, so that torch and mmpose are imported once for all
tools instead of once per tool.

Command keys: ``tools/NAME.py`` (run with ``--help`` as ``python
tools/NAME.py --help`` would), ``mim SUB``, ``pip SUB`` and ``pytest``.
"""
import contextlib
import io
import json
import os.path as osp
import runpy
import sys
import warnings

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _captured(run) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            run()
        except SystemExit:
            pass
        except Exception as err:  # click's Exit, or a tool that fails on --help
            if type(err).__name__ != 'Exit':
                print(f'HELP FAILED: {type(err).__name__}: {err}')
    return out.getvalue()


def _tool(path: str) -> str:
    def run():
        argv, sys.argv = sys.argv, [path, '--help']
        sys.path.insert(0, osp.dirname(path))
        try:
            runpy.run_path(path, run_name='__main__')
        finally:
            sys.argv = argv
            sys.path.remove(osp.dirname(path))
    return _captured(run)


def _mim(sub: str) -> str:
    from mim.cli import cli
    return _captured(lambda: cli.main([sub, '--help'], prog_name='mim', standalone_mode=False))


def _pip(sub: str) -> str:
    from pip._internal.cli.main import main
    return _captured(lambda: main([sub, '--help']))


def _pytest() -> str:
    import pytest
    return _captured(lambda: pytest.main(['--help', '-p', 'no:cacheprovider']))


def registered_names() -> list:
    import mmengine.registry as engine
    import mmpose.registry as pose
    from mmpose.utils import register_all_modules

    import hrgan_plugin  # noqa: F401
    register_all_modules()
    names = set()
    for module in (engine, pose):
        for value in vars(module).values():
            if type(value).__name__ == 'Registry':
                names |= set(value.module_dict)
    return sorted(names)


def main() -> None:
    warnings.filterwarnings('ignore')
    result = {}
    for key in sys.argv[1:]:
        if key.startswith('mim '):
            result[key] = _mim(key.split()[1])
        elif key.startswith('pip '):
            result[key] = _pip(key.split()[1])
        elif key == 'pytest':
            result[key] = _pytest()
        else:
            result[key] = _tool(osp.join(REPO, key))
    result['registered'] = registered_names()
    print(json.dumps(result))


if __name__ == '__main__':
    main()
