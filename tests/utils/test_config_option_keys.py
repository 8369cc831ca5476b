"""--cfg-options keys are checked against the config they change: a
misspelt setting would otherwise be added beside the real one and read by
nothing."""
import os.path as osp

import pytest
from mmengine.config import Config

from dld.utils.config_file import merge_config_options
from dld.utils.config_option_keys import ConfigOptionError

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def cfg():
    return Config.fromfile(osp.join(REPO, 'configs', 'quickstart', 'dld.py'))


@pytest.mark.parametrize('option, says', [
    ('train_cgf.max_epochs', "no 'train_cgf'.*did you mean 'train_cfg'"),
    ('laod_from', "did you mean 'load_from'"),
    ('modle.test_cfg.force_scale', "did you mean 'model'"),
    ('zzz', 'the settings are .*train_cfg'),
    ('custom_hooks.start', r'custom_hooks is a list of \d+; .*custom_hooks\.0\.start'),
    ('custom_hooks.-1.start', r'MMEngine takes no negative index; its last item is '
                              r'custom_hooks\.\d+'),
    ('custom_hooks.²', r'name its item by index'),
    # MMEngine's KeyError 'Index 40 exceeds the length of list', with its traceback
    ('custom_hooks.40.type', r'custom_hooks is a list of \d+, so custom_hooks\.40 names '
                             r'nothing \(its last item is custom_hooks\.\d+\); add the item'),
    ('model.scales.0', r'model.scales is a tuple; set it whole, e.g. model.scales="\(1\.0,'),
    # MMEngine made {'2': 1} of it, refused deep in the built class (an extending journey)
    ('model.student.backbone.stride_list.2', r"the config sets no "
     r"model\.student\.backbone\.stride_list, so model\.student\.backbone\.stride_list\.2 "
     r"would make it a dict \{'2': \.\.\.\}, not a list or tuple; set it whole"),
])
def test_a_key_the_config_cannot_take_is_refused_naming_it(cfg, option, says):
    changed = cfg.copy()
    with pytest.raises(ConfigOptionError, match=says):
        merge_config_options(changed, {option: 1})
    assert changed.to_dict() == cfg.to_dict()  # nothing merged


def test_a_hook_option_where_the_config_sets_no_hooks_is_refused():
    """The teacher's config has no custom_hooks: the dotted key made a dict
    the runner failed on after the config was dumped (a docs journey)."""
    teacher = Config.fromfile(osp.join(REPO, 'configs', 'teacher_plate_hr.py'))
    assert 'custom_hooks' not in teacher
    with pytest.raises(ConfigOptionError, match=r'custom_hooks is a list, which the config '
                       r'does not set, so custom_hooks.start names nothing'):
        merge_config_options(teacher.copy(), {'custom_hooks.start': 1})
    merge_config_options(teacher, {'custom_hooks': []})  # the whole list is fine


@pytest.mark.parametrize('option', [
    'train_cfg.max_epochs',  # in the config
    'experiment_name', 'work_dir', 'launcher',  # read by the runner, absent from the config
    'find_unused_parameters', 'model_wrapper_cfg.type', 'train_synth_plates.data_root',
    'model.losses.logit.type',  # a new nested key: its class checks it
    'custom_hooks.0.start', 'train_dataloader.dataset.pipeline.0.color_type',
])
def test_keys_the_config_or_the_runner_takes_are_merged(cfg, option):
    changed = cfg.copy()
    merge_config_options(changed, {option: 7})
    node = changed
    for part in option.split('.'):
        node = node[int(part)] if isinstance(node, list) else node[part]
    assert node == 7


@pytest.mark.parametrize('option, value, says', [
    ('model.init_student_from_teacher', 'flase', "is True, and 'flase' would be the string "
                                                 "'flase', which counts as true; did you mean "
                                                 'False'),
    ('model.init_student_from_teacher', 'no', "is True, and 'no' would be the string"),
    ('load_from', 'nnoe', 'did you mean None'),
    ('load_from', 'null', 'did you mean None'),
    ('load_from', 'Non', 'did you mean None'),
])
def test_a_word_given_to_a_true_false_or_none_setting_is_refused(cfg, option, value, says):
    # MMEngine passes an unknown word on as a string, and a string is true
    with pytest.raises(ConfigOptionError, match=says):
        merge_config_options(cfg.copy(), {option: value})


def test_a_setting_of_another_value_takes_any_word(cfg):
    changed = cfg.copy()
    merge_config_options(changed, {'model.teacher_gate': 'none', 'load_from': 'ckpt.pth'})
    assert changed.model.teacher_gate == 'none' and changed.load_from == 'ckpt.pth'


def test_a_string_setting_that_commas_made_a_list_is_refused_saying_how_to_quote(cfg):
    """MMEngine's file reading failed on the list with a bare AssertionError."""
    from dld.cli_options import ConfigOptionsAction
    key = 'test_dataloader.dataset.data_root'
    with pytest.raises(ConfigOptionError, match=rf"{key} is a string .* made it the list "
                                                r"\['/data/plates', '2024/'\]; .*quotes"):
        merge_config_options(cfg.copy(), {key: ConfigOptionsAction._parse_iterable(
            '/data/plates,2024/')})
    changed = cfg.copy()  # quoted, it is the string as written
    merge_config_options(changed, {key: ConfigOptionsAction._parse_iterable(
        "'/data/plates,2024/'")})
    assert changed.test_dataloader.dataset.data_root == '/data/plates,2024/'
    # a bracketed list is one on purpose: a string setting that takes lists too
    changed = cfg.copy()
    merge_config_options(changed, {'default_hooks.checkpoint.save_best':
                                   ConfigOptionsAction._parse_iterable(
                                       '[plate/accuracy,plate/char_accuracy]')})
    assert changed.default_hooks.checkpoint.save_best == ['plate/accuracy',
                                                           'plate/char_accuracy']


@pytest.mark.parametrize('option, says', [
    ('max_epochs', r"'max_epochs' is a variable of the config file, .* changes nothing\. Set "
                   r'the settings that use it instead \(those holding its value \d+: '
                   r'train_cfg\.max_epochs\)'),  # not the 3 input channels
    ('data_root', r'those holding its value .*: test_dataloader\.dataset\.data_root.*'
                  r'synth_plates\.data_root'),
    ('dictionary.dict_file', r'those holding it: .*train_dataloader\.dataset\.dictionary\.'
                             r'dict_file'),
])
def test_a_variable_of_the_config_file_is_refused_naming_where_its_value_went(cfg, option,
                                                                              says):
    """MMEngine puts a variable's value where the file uses it when reading
    it: `--cfg-options max_epochs=1` trained the config's 6 epochs, silently."""
    changed = cfg.copy()
    with pytest.raises(ConfigOptionError, match=says):
        merge_config_options(changed, {option: 1})
    assert changed.to_dict() == cfg.to_dict()
