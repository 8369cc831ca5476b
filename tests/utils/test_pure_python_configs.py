"""Configs in MMEngine's pure-Python style (``with read_base(): from .x import *``,
``type=`` a class), and the classic tricks' mistakes: what DLD reads of a
config's ``type`` is the class a name, a class or a lazily imported class
builds, and a config that cannot be read is one line naming its file."""
import json
import textwrap

import pytest
import torch
from log_records import current_log_records
from repo_scripts import load_script

from dld.utils import read_config
from dld.utils.config_file import ConfigFileError


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return str(path)


@pytest.fixture
def pure_config(tmp_path):
    """A pure-Python config (and base) that names its types by class."""
    _write(tmp_path / 'base' / 'schedule.py', '''
        from mmengine.optim import OneCycleLR, OptimWrapper
        from mmengine.runner import ValLoop
        from torch.optim import AdamW

        optim_wrapper = dict(type=OptimWrapper, optimizer=dict(type=AdamW, lr=1e-3))
        param_scheduler = [dict(type=OneCycleLR, eta_max=1e-3, by_epoch=True, begin=0, end=3,
                                convert_to_iter_based=True)]
        val_cfg = dict(type=ValLoop)
    ''')
    return _write(tmp_path / 'pure.py', '''
        from mmengine.config import read_base

        from dld.datasets.transforms import LoadPlateImages, PackPlateInputs, ResizePair
        from dld.engine.hooks import GumbelTemperatureHook

        with read_base():
            from .base.schedule import *

        train_cfg = dict(max_epochs=1)
        train_dataloader = dict(batch_size=8)
        auto_scale_lr = dict(enable=True, base_batch_size=32)
        custom_hooks = [dict(type=GumbelTemperatureHook, start=5.0, end=0.5)]
        pipeline = [dict(type=LoadPlateImages, color_type='grayscale', with_hr=False),
                    dict(type=ResizePair, lr_size=(48, 144), hr_size=(48, 144)),
                    dict(type=PackPlateInputs, main_stream='lr')]
        test_dataloader = dict(dataset=dict(type='PairedPlateDataset', pipeline=pipeline))
    ''')


def test_type_name_of_a_name_a_scoped_name_a_path_a_class_and_a_lazy_import():
    from mmengine.config.lazy import LazyObject
    from mmengine.optim import OneCycleLR

    from dld.utils.config_types import type_name
    for kind in ('OneCycleLR', 'mmengine.OneCycleLR', 'mmengine.optim.OneCycleLR', OneCycleLR,
                 LazyObject('mmengine.optim', 'OneCycleLR')):
        assert type_name(kind) == 'OneCycleLR'


def test_a_schedule_of_a_class_is_scaled_and_warned_of_as_one_of_a_name(pure_config):
    from dld.engine import lr_schedule_options as options
    cfg = read_config(pure_config)
    # --auto-scale-lr scaled the optimizer's lr only: the one-cycle peak, which
    # sets the learning rate, was left as it was
    assert options.scale_one_cycle_peaks(cfg, world_size=1) == 0.25
    assert cfg.param_scheduler[0]['eta_max'] == pytest.approx(0.25e-3)
    with current_log_records() as records:
        options.warn_lr_set_by_schedule(cfg, ['optim_wrapper.optimizer.lr'])
        options.warn_schedule_outlasting_training(cfg)
    said = '\n'.join(r.getMessage() for r in records)
    assert 'param_scheduler.0 (OneCycleLR) sets the learning rate' in said
    assert 'param_scheduler.0 (OneCycleLR) ends at epoch 3' in said
    assert 'GumbelTemperatureHook) anneals' in said  # the hook's class found too
    assert '<class' not in said


def test_train_amp_takes_a_class_of_optim_wrapper_and_the_config_still_dumps(
        pure_config, monkeypatch, tmp_path):
    import torch
    train = load_script('tools/train.py')
    monkeypatch.setattr(train, 'resolve_amp', lambda device, amp: torch.bfloat16)
    monkeypatch.setattr(train.torch.cuda, 'is_available', lambda: False)
    cfg = read_config(pure_config)
    train.enable_amp(cfg, pure_config)  # refused: 'uses <class ...OptimWrapper>'
    assert cfg.optim_wrapper.type == 'BF16OptimWrapper'
    assert cfg.val_cfg.fp16 is True
    # the val_cfg rebuilt holds the ValLoop class itself: its text (log, work
    # dir copy, checkpoint meta) was a SyntaxError traceback
    text = cfg.pretty_text
    assert "'mmengine.runner.loops.ValLoop'" in text
    cfg.dump(str(tmp_path / 'dumped.py'))
    again = read_config(str(tmp_path / 'dumped.py'))
    from mmengine.registry import LOOPS
    from mmengine.runner import ValLoop
    assert LOOPS.get(again.val_cfg.type) is ValLoop


def test_the_recognizer_leaves_a_loading_class_out_of_its_pipeline(pure_config):
    from dld.apis.plate_recognizer import PlateRecognizer
    cfg = read_config(pure_config)
    recognizer = PlateRecognizer.__new__(PlateRecognizer)
    pipeline = recognizer._init_pipeline(cfg)
    names = [type(t).__name__ for t in pipeline.transforms]
    # kept, it read each image again from its file, and an array given failed
    assert names == ['ResizePair', 'PackPlateInputs']
    assert recognizer.color_type == 'grayscale'  # the loading step's, not 'color'


def test_flops_accuracy_loads_hr_with_a_loading_class(pure_config):
    from dld.apis.model_loading import with_hr_frames
    cfg = read_config(pure_config)
    loader = with_hr_frames(cfg.test_dataloader)
    # left False: "teacher on HR skipped: no test image has HR frames"
    assert loader['dataset']['pipeline'][0]['with_hr'] is True


def test_the_online_set_refuses_a_loading_class():
    from dld.datasets import OnlineSynthPlateDataset
    from dld.datasets.transforms import LoadPlateImages, PackPlateInputs
    with pytest.raises(ValueError, match='leave LoadPlateImages out of its pipeline'):
        OnlineSynthPlateDataset(num_plates=2, pipeline=[dict(type=LoadPlateImages),
                                                        dict(type=PackPlateInputs)])


def test_a_class_put_into_a_config_is_written_by_its_path():
    from mmengine.config import Config
    from mmengine.runner import ValLoop

    from dld.utils.formatted_config import FormattedOnceConfig
    cfg = FormattedOnceConfig.of(Config(dict(val_cfg=dict(type=ValLoop), n=1)))
    assert cfg.to_dict()['val_cfg']['type'] == 'mmengine.runner.loops.ValLoop'
    assert "type='mmengine.runner.loops.ValLoop'" in cfg.pretty_text


def test_a_failed_lazy_import_is_one_line_with_where_dld_has_it(tmp_path):
    config = _write(tmp_path / 'wrong_import.py', '''
        from dld.models import DLDDistiller

        model = dict(type=DLDDistiller)
    ''')
    with pytest.raises(ConfigFileError) as err:
        read_config(config)
    said = str(err.value)
    assert said.startswith(f'{config}:2: ') and '\n' not in said
    assert '`from dld.models.distillers import DLDDistiller`' in said


def test_a_missing_base_variable_is_named_with_its_file_and_line(tmp_path):
    _write(tmp_path / 'base.py', 'base_lr = 1e-3\n')
    for text in ("_base_ = ['base.py']\nlr = {{_base_.base_rl}}\n",
                 "_base_ = ['base.py']\nlr = _base_.base_rl\n"):
        config = _write(tmp_path / 'leaf.py', text)
        with pytest.raises(ConfigFileError, match=r'leaf\.py:2: _base_\.base_rl: no _base_ '):
            read_config(config)


def test_a_json_error_names_the_json_file_that_holds_it(tmp_path):
    broken = _write(tmp_path / 'broken.json', '{"model": {"scales": [1.0, 0.5],}}\n')
    leaf = tmp_path / 'leaf.json'
    leaf.write_text(json.dumps({'_base_': ['broken.json'], 'x': 1}))
    for config in (broken, str(leaf)):
        with pytest.raises(ConfigFileError, match=rf'^{broken}:1:\d+: not JSON: '):
            read_config(config)


def test_an_environment_placeholder_is_compared_as_read(tmp_path, monkeypatch):
    from dld.utils.base_variables import unused_overrides
    _write(tmp_path / 'base.py',
           "data = 'data/a/'\ntrain_dataloader = dict(dataset=dict(data_root=data))\n")
    config = _write(tmp_path / 'leaf.py',
                    "_base_ = ['base.py']\ndata = '{{$NEWCFG_DATA:data/a/}}'\n")
    monkeypatch.delenv('NEWCFG_DATA', raising=False)
    # the default is the base's own value: nothing is left unreached
    assert unused_overrides(config, read_config(config)) == []
    monkeypatch.setenv('NEWCFG_DATA', 'data/b/')
    said = unused_overrides(config, read_config(config))
    assert len(said) == 1 and "data='data/b/'" in said[0] and '{{' not in said[0]


@pytest.mark.parametrize('lines', [
    ('lr = {{_base_.lr}}', 'seq = {{_base_.model.decoder.lr}}'),  # KeyError('lr')
    ('lr = _base_.lr', 'seq = _base_.model.lr'),  # AttributeError ... 'lr'
    ('lr = _base_.lr * 2', "pick = dict(a=1)['lr']"),  # the config's own KeyError
])
def test_an_error_of_another_key_is_not_blamed_on_a_base_variable_its_base_sets(
        tmp_path, lines):
    _write(tmp_path / 'base.py',
           "lr = 1e-3\nmodel = dict(type='X', decoder=dict(max_seq_len=9))\n")
    config = _write(tmp_path / 'leaf.py', "_base_ = ['base.py']\n" + '\n'.join(lines) + '\n')
    # was 'leaf.py:2: _base_.lr: no _base_ file of it sets 'lr'', of the line
    # that is right, where base.py sets lr: line 3 is wrong
    with pytest.raises((KeyError, AttributeError)) as err:
        read_config(config)
    assert 'no _base_ file of it sets' not in str(err.value)


def test_a_pure_python_config_imports_the_package_its_custom_imports_name(
        tmp_path, monkeypatch):
    """A tool run as ``python tools/train.py`` has tools/ on sys.path, not
    the working directory: custom_imports make it importable, and a
    pure-Python config's own import of that package was tried before them."""
    import sys
    package = tmp_path / 'review_lazy_project'
    _write(package / '__init__.py', '''
        from torch import nn


        class ReviewHead(nn.Module):
            pass
    ''')
    config = _write(tmp_path / 'pure_project.py', '''
        from review_lazy_project import ReviewHead

        custom_imports = dict(imports=['review_lazy_project'], allow_failed_imports=False)
        model = dict(type=ReviewHead)
    ''')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'path', [p for p in sys.path
                                      if p not in ('', '.', str(tmp_path))])
    monkeypatch.delitem(sys.modules, 'review_lazy_project', raising=False)
    cfg = read_config(config)  # was "Failed to import review_lazy_project ... No module named"
    assert cfg.model.type.__name__ == 'ReviewHead'


def test_a_module_not_found_by_a_lazy_import_is_named_with_file_and_line(tmp_path):
    config = _write(tmp_path / 'wrong_module.py', '''
        from dld.modelz.distillers import DLDDistiller

        model = dict(type=DLDDistiller)
    ''')
    with pytest.raises(ConfigFileError) as err:
        read_config(config)
    said = str(err.value)
    # was "Failed to import dld.modelz.distillers in FILE, line 2 for No module ..."
    assert said.startswith(f'{config}:2: ') and "No module named 'dld.modelz'" in said
    assert '`from dld.models.distillers import DLDDistiller`' in said


def test_a_function_the_config_text_cannot_import_again_is_warned_of():
    """A lambda (or a function of the config file) was written by a name
    that builds nothing: the work dir's copy would not run as it is."""
    from log_records import current_log_records
    from mmengine.config import Config

    from dld.utils.formatted_config import FormattedOnceConfig
    cfg = FormattedOnceConfig.of(Config(dict(loader=dict(worker_init_fn=lambda i: None),
                                             optim=dict(type=torch.optim.SGD))))
    with current_log_records() as records:
        text = cfg.pretty_text
    said = [r.getMessage() for r in records if 'cannot be imported by its name' in r.getMessage()]
    assert len(said) == 1 and '<lambda>' in said[0]
    assert "'torch.optim.sgd.SGD'" in text  # importable: no word of it
