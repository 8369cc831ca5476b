"""The code runs on every Python setup.py admits: a call of 3.11's (Popen's
process_group) made every quickstart step a TypeError on 3.10, and the
tests, run on 3.11, could not see it."""
import os.path as osp
import re
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def test_nothing_needs_a_newer_python_than_setup_py_admits():
    with open(osp.join(REPO, 'setup.py'), encoding='utf-8') as f:
        lowest = re.search(r"python_requires='>=(3\.\d+)'", f.read())[1]
    done = subprocess.run(
        [sys.executable, '-c', 'import sys, vermin; sys.exit(vermin.main())',
         f'-t={lowest}-', '--violations', '--no-tips', '--eval-annotations', '--no-config-file',
         *(osp.join(REPO, d) for d in ('dld', 'tools', 'benchmarks'))],
        capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
