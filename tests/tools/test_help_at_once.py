"""``--help`` and a usage error of every tool and benchmark come before torch
loads: train.py, test.py, infer.py, get_flops.py and every benchmark imported
torch and MMEngine first and answered ``--help`` in 1.5 to 5 seconds, where
the other tools answered at once. Checked by the modules loaded, not by the
time taken."""
import glob
import os
import os.path as osp
import re
import subprocess
import sys

import pytest

from tests.repo_scripts import REPO

SCRIPTS = sorted(
    osp.relpath(path, REPO) for pattern in ('tools/*.py', 'tools/*/*.py', 'benchmarks/*.py')
    for path in glob.glob(osp.join(REPO, pattern)))
HELPERS = ('benchmarks/numeric_options.py', 'benchmarks/script_exit.py')

# the script run as `python SCRIPT ARGS` is, then whether torch was loaded
PROBE = '''
import runpy, sys
path = sys.argv[1]
sys.argv = [path] + sys.argv[2:]
try:
    runpy.run_path(path, run_name='__main__')
except SystemExit as exit_:
    code = exit_.code
else:
    code = 0
print('torch loaded' if 'torch' in sys.modules else 'torch not loaded', file=sys.stderr)
sys.exit(code)
'''


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    return subprocess.run([sys.executable, '-c', PROBE, osp.join(REPO, script), *args],
                          capture_output=True, text=True, cwd=REPO, env=env, timeout=120)


@pytest.mark.parametrize('script', [s for s in SCRIPTS if s not in HELPERS])
def test_help_comes_before_torch_loads(script):
    run = _run(script, '--help')
    assert run.returncode == 0, run.stderr
    assert 'usage:' in run.stdout
    assert run.stderr.strip().endswith('torch not loaded'), run.stderr


@pytest.mark.parametrize('script', ['tools/train.py', 'tools/test.py', 'tools/infer.py',
                                    'tools/extract_student.py', 'tools/make_synth_plates.py',
                                    'tools/analysis/get_flops.py',
                                    'benchmarks/joint_decoding.py'])
def test_a_usage_error_comes_before_torch_loads(script):
    run = _run(script, '--no-such-option')
    assert run.returncode == 2
    assert 'unrecognized arguments: --no-such-option' in run.stderr or \
        'the following arguments are required' in run.stderr, run.stderr
    assert run.stderr.strip().endswith('torch not loaded'), run.stderr


@pytest.mark.parametrize('script', HELPERS)
def test_a_helper_module_run_says_it_is_one(script):
    """`for f in benchmarks/*.py; do python $f --help; done` got nothing and
    status 0 from these."""
    run = _run(script, '--help')
    assert run.returncode == 2
    assert f'{osp.basename(script)}: a helper module of the benchmarks, not a benchmark' \
        in run.stderr


def test_the_set_up_text_s_length_is_said_alike_everywhere():
    """README.md said some 900 lines, train.py --help 600 to 800; the shipped
    configs' set-up (environment, config, hook order) is 740 to 930 lines,
    a DLD config's some 900."""
    run = _run('tools/train.py', '--help')
    help_text = ' '.join(run.stdout.split())
    said = re.search(r'some (\d+) to (\d+) lines', help_text)
    assert said, help_text
    low, high = map(int, said.groups())
    assert low <= 750 and 930 <= high <= 1000
    for doc in ('README.md', 'docs/get_started.md'):
        with open(osp.join(REPO, doc), encoding='utf-8') as f:
            text = ' '.join(f.read().split())
        assert re.search(rf'some {low}\b.*? to {high} lines', text), doc
