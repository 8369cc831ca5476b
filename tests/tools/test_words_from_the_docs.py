"""The word recognizer of docs/datasets.md ("Words and other text"), its two
configs taken from the page: a case-sensitive teacher and DLD on 32x128 words."""
import os.path as osp
import re
from unittest import mock

import cv2
import numpy as np
import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.'
WORDS = ['ocean', 'River', 'fores-t', 'x-ray', 'Bank', 'v1.2', 'delta', 'Echo', 'kilo',
         'lima', 'Mike', 'oscar']

# The docs' configs, shrunk: a small network, one epoch, no loader workers.
SHRINK = '''
for _part in {parts}:
    _part.update(backbone=dict(widths=(8, 16, 16, 32)),
                 encoder=dict(d_model=32, num_layers=1, num_heads=2))
    _part['decoder'].update(d_model=32, num_layers=1, num_heads=2)
for _loader in (train_dataloader, val_dataloader):
    _loader.update(batch_size=4, num_workers=0, persistent_workers=False)
train_cfg = dict(max_epochs=1, val_interval=1)
param_scheduler = [dict(type='OneCycleLR', eta_max=1e-3, pct_start=0.3, by_epoch=True,
                        begin=0, end=1, convert_to_iter_based=True)]
log_level = 'WARNING'
'''


def doc_config(name: str) -> str:
    text = open(osp.join(REPO, 'docs', 'datasets.md'), encoding='utf-8').read()
    blocks = re.findall(r'```python\n(# my_configs/' + re.escape(name) + r'\n.*?)```', text,
                        re.S)
    assert len(blocks) == 1, name
    return blocks[0].replace("'../configs/", repr(osp.join(REPO, 'configs')).rstrip("'") + '/')


def write_words(root, split, words):
    lines = []
    for i, word in enumerate(words):
        hr = np.full((32, 128, 3), 235, np.uint8)
        cv2.putText(hr, word, (4, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.7, (20, 20, 20), 2)
        lr = cv2.resize(hr, (48, 12), interpolation=cv2.INTER_AREA)
        for kind, image in (('lr', lr), ('hr', hr)):
            assert cv2.imwrite(str(root / f'{split}{i}-{kind}.png'), image)
        lines.append(f'{split}{i}-lr.png|{split}{i}-hr.png\t{word}')
    (root / f'{split}.txt').write_text('\n'.join(lines) + '\n')


@pytest.mark.slow
def test_the_documented_word_configs_train_and_read_lower_case(tmp_path, monkeypatch,
                                                               train_tool, run_name):
    from dld.apis import PlateRecognizer
    monkeypatch.chdir(tmp_path)
    (tmp_path / 'my_configs').mkdir()
    (tmp_path / 'my_configs' / 'chars.txt').write_text('\n'.join(CHARS) + '\n')
    data = tmp_path / 'data' / 'words'
    data.mkdir(parents=True)
    write_words(data, 'train', WORDS)
    write_words(data, 'val', WORDS[:4])
    teacher = tmp_path / 'my_configs' / 'teacher_words.py'
    teacher.write_text(doc_config('teacher_words.py') + SHRINK.format(parts='(model, )'))
    dld = tmp_path / 'my_configs' / 'dld_words.py'
    dld.write_text(doc_config('dld_words.py')
                   + SHRINK.format(parts="(model['teacher'], model['student'])"))

    train_tool.main([str(teacher), '--work-dir', 'work_dirs/teacher_words',
                     '--cfg-options', f'experiment_name={run_name()}'])
    train_tool.main([str(dld), '--work-dir', 'work_dirs/dld_words',
                     '--cfg-options', f'experiment_name={run_name()}'])
    assert osp.isfile('work_dirs/dld_words/epoch_1.pth')

    with mock.patch('dld.apis.model_loading.print_log') as log:
        recognizer = PlateRecognizer(str(dld), 'work_dirs/dld_words/epoch_1.pth', device='cpu')
    assert not any('trained on the characters' in c.args[0] for c in log.call_args_list)
    dictionary = recognizer.recognizer.decoder.dictionary
    assert dictionary.case_sensitive and 'a' in dictionary.dict and '-' in dictionary.dict
    out = recognizer(str(data / 'val.txt'), scale=0.5)['predictions']
    assert [r['gt_text'] for r in out] == WORDS[:4]  # labels keep their case
    assert {tuple(r['input_size']) for r in out} == {(16, 64)}  # half of 32x128
    assert all(set(r['text']) <= set(CHARS) for r in out)

    # the dictionary file edited after training (case swapped): same size,
    # so every weight loads, and each index would read as another character:
    # refused (it was a warning), by the characters the run saved
    (tmp_path / 'my_configs' / 'chars.txt').write_text('\n'.join(CHARS.swapcase()) + '\n')
    from dld.apis.model_loading import CheckpointMismatchError
    with pytest.raises(CheckpointMismatchError, match='each output would read as another'):
        PlateRecognizer(str(dld), 'work_dirs/dld_words/epoch_1.pth', device='cpu')
