"""docs/customize.md's "A model in Python" runs as written (an extending
journey found no such example, and its traps: MMEngine's root registry, a
tensor not normalised)."""
import os.path as osp
import re
import subprocess
import sys

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_the_documented_snippet_builds_a_model_and_reads_a_crop():
    with open(osp.join(REPO, 'docs', 'customize.md'), encoding='utf-8') as f:
        text = f.read()
    section = text[text.index('## A model in Python'):]
    [code] = re.findall(r'```python\n(.*?)```', section[:section.index('\n## ', 5)], re.S)
    done = subprocess.run([sys.executable, '-c', code + "\nprint('shape', data['inputs'].shape)"],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    printed = done.stdout.splitlines()
    assert printed[-1] == 'shape torch.Size([1, 3, 48, 144])'
    score = float(printed[-2].rsplit(' ', 1)[-1])  # after the text the untrained model read
    assert 0.0 < score <= 1.0
