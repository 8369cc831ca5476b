"""Loading a recognizer from a plain checkpoint or from a DLD run's student."""
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from tiny_dld import BASE, SCALES, TRAINED_WIDTH, recognizer_cfg

from dld.apis import CheckpointMismatchError
from dld.apis.model_loading import load_recognizer_weights, read_state_dict
from dld.registry import MODELS


def _build(width: int = TRAINED_WIDTH, **extra):
    """A recognizer as wide as the tiny run's models (or ``width``)."""
    init_default_scope('dld')
    return MODELS.build(dict(recognizer_cfg(width), **extra))


def test_a_dld_runs_student_loads_as_a_recognizer(tiny_run):
    # The distiller gives its student per-scale BatchNorm; so must the recognizer.
    model = _build(scale_norm=dict(scales=SCALES, base_size=BASE))
    load_recognizer_weights(model, tiny_run['student'])
    state, _ = read_state_dict(tiny_run['student'])
    loaded = model.state_dict()
    assert loaded and all(torch.equal(v, state['student.' + k]) for k, v in loaded.items())


def test_a_plain_recognizer_checkpoint_loads_as_before(tiny_run):
    model = _build()
    load_recognizer_weights(model, tiny_run['baseline'])
    state, _ = read_state_dict(tiny_run['baseline'])
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_a_student_that_does_not_fit_names_the_file_and_why(tiny_run):
    with pytest.raises(CheckpointMismatchError, match='its student') as info:
        load_recognizer_weights(_build(), tiny_run['student'])  # no per-scale BatchNorm
    message = str(info.value)
    # not "different widths?": the widths are the same
    assert (f'it keeps BatchNorm statistics for each of {len(SCALES)} scales, as a DLD '
            "student does, the config's model one set") in message
    # the first of torch's lines, not one for each weight of the backbone
    assert 'size mismatch' in message and len(message.splitlines()) <= 5
    assert message.endswith('more line(s)')


def test_a_dld_config_as_the_reports_baseline_config_is_refused(tiny_run):
    from dld.apis.flops_accuracy import FlopsAccuracyEvaluator
    with pytest.raises(ValueError, match='is a DLD config'):
        FlopsAccuracyEvaluator(tiny_run['config'], tiny_run['student'],
                               baseline_checkpoint=tiny_run['student'],
                               baseline_config=tiny_run['config'], with_teacher=False)


def test_a_checkpoint_without_the_training_only_head_loads_for_inference(tiny_run, tmp_path):
    """Inference never runs ``aux_decoder``: a checkpoint from before the
    head was configured loads, into a recognizer and into a DLD model."""
    from dld.apis.model_loading import load_state
    head = dict(type='CTCDecoder', module_loss=dict(type='CTCModuleLoss', loss_weight=0.5))
    model = _build(aux_decoder=head)
    load_recognizer_weights(model, tiny_run['baseline'])
    state, _ = read_state_dict(tiny_run['baseline'])
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items()
               if not k.startswith('aux_decoder.'))

    missing_a_layer = {k: v for k, v in state.items() if not k.startswith('decoder.')}
    with pytest.raises(CheckpointMismatchError, match='lacks'):
        load_state(_build(aux_decoder=head), missing_a_layer, 'plain.pth', is_distiller=False)

    dld_state, _ = read_state_dict(tiny_run['student'])
    assert not any(k.startswith('student.aux_decoder.') for k in dld_state)
    cfg = Config.fromfile(tiny_run['config']).model
    cfg.student.aux_decoder = head
    distiller = MODELS.build(dict(cfg, teacher_ckpt=None))
    load_state(distiller, dld_state, 'dld.pth', is_distiller=True)
    loaded = {k: v for k, v in distiller.state_dict().items()
              if k.startswith('student.') and not k.startswith('student.aux_decoder.')}
    assert loaded and all(torch.equal(v, dld_state[k]) for k, v in loaded.items())


def test_a_checkpoint_of_another_decoder_is_refused_not_half_loaded(tmp_path):
    """An attention recognizer's checkpoint given with a CTC config: its
    ``decoder.classifier`` may fit the CTC classifier by shape, and the rest
    of its decoder would be dropped with a warning; the plates would then
    read as garbage. It is refused, naming the weights."""
    from attention_dld import attention_recognizer_cfg
    init_default_scope('dld')
    attention = MODELS.build(attention_recognizer_cfg(12))
    path = tmp_path / 'attention.pth'
    torch.save(dict(state_dict=attention.state_dict(), meta={}), path)
    with pytest.raises(CheckpointMismatchError, match=r"weight\(s\) inside parts of the model "
                       r"that the model lacks, e\.g\. \['decoder\."):
        load_recognizer_weights(_build(12), str(path))
    # a training-only head the model lacks is not a part of it: still loaded
    with_head = MODELS.build(dict(recognizer_cfg(12), aux_decoder=dict(type='CTCDecoder')))
    path = tmp_path / 'with_head.pth'
    torch.save(dict(state_dict=with_head.state_dict(), meta={}), path)
    load_recognizer_weights(_build(12), str(path))


def test_a_ctc_checkpoint_read_with_an_attention_config_names_both_decoders(tiny_run, tmp_path):
    """It said only "lacks 13 weight(s) ..., is it a DLD checkpoint of this
    config?" (a CTC journey), the reverse naming another architecture."""
    from attention_dld import attention_recognizer_cfg, make_attention_dld

    from dld.apis.model_loading import init_model
    init_default_scope('dld')
    ctc = tmp_path / 'ctc.pth'
    torch.save(dict(state_dict=_build(12).state_dict(), meta={}), ctc)
    with pytest.raises(CheckpointMismatchError, match=r"The checkpoint's decoder has the parts "
                       r"\['classifier'\], the config's AttentionDecoder \[.*\]: a checkpoint "
                       r'of the other decoder type \(attention or CTC\)\?'):
        load_recognizer_weights(MODELS.build(attention_recognizer_cfg(12)), str(ctc))
    attention = make_attention_dld(str(tmp_path / 'attention'))
    with pytest.raises(CheckpointMismatchError, match=r"the student/selector need, e\.g\. .*"
                       r"The checkpoint's decoder has the parts \['classifier'\], the config's "
                       r'AttentionDecoder'):
        init_model(Config.fromfile(attention['config']), tiny_run['student'])


@pytest.mark.parametrize('scales', [SCALES[::-1], (1.0, 0.7, 0.4), SCALES[:2]],
                         ids=['reordered', 'other', 'fewer'])
def test_a_checkpoint_trained_with_other_scales_is_refused_naming_both(
        tiny_run, scales, tmp_path):
    # Same number of scales: every weight fits, and the selector's choices
    # and per-scale BatchNorm rows would silently point at the wrong scales.
    from dld.apis.model_loading import init_model
    state, _ = read_state_dict(tiny_run['student'])
    trained = tmp_path / 'trained.pth'  # as the runner saves it: with its config's text
    torch.save(dict(state_dict=state, meta=dict(
        cfg=Config.fromfile(tiny_run['config']).pretty_text)), trained)
    cfg = Config.fromfile(tiny_run['config'])
    cfg.model.scales = list(scales)
    with pytest.raises(CheckpointMismatchError,
                       match=rf'trained with model.scales={tuple(SCALES)}, the config reads '
                             rf'with {tuple(float(s) for s in scales)}'.replace('(', r'\(')
                             .replace(')', r'\)')):
        init_model(cfg, str(trained))
    init_model(Config.fromfile(tiny_run['config']), str(trained))  # its own: loads


def test_a_checkpoint_trained_at_another_base_size_is_refused(tiny_run, tmp_path):
    """Read at 32x96 with the 48x144 run's scales, statistics and selector,
    without a word (a researcher's journey)."""
    from dld.apis.model_loading import init_model
    state, _ = read_state_dict(tiny_run['student'])
    trained = tmp_path / 'trained.pth'
    torch.save(dict(state_dict=state, meta=dict(
        cfg=Config.fromfile(tiny_run['config']).pretty_text)), trained)
    cfg = Config.fromfile(tiny_run['config'])
    cfg.model.base_size = (32, 96)
    with pytest.raises(CheckpointMismatchError, match=r'trained at model.base_size=\(48, 144\), '
                       r'the config reads at \(32, 96\)'):
        init_model(cfg, str(trained))


def test_a_dld_student_read_as_a_recognizer_needs_the_scales_it_was_trained_on(
        tiny_run, tmp_path):
    # A report's baseline: per-scale BatchNorm rows in another order would
    # load without a missing key.
    state, _ = read_state_dict(tiny_run['student'])
    trained = tmp_path / 'trained.pth'
    torch.save(dict(state_dict=state, meta=dict(
        cfg=Config.fromfile(tiny_run['config']).pretty_text)), trained)
    with pytest.raises(CheckpointMismatchError, match='its per-scale BatchNorm follow'):
        load_recognizer_weights(
            _build(scale_norm=dict(scales=SCALES[::-1], base_size=BASE)), str(trained))
    load_recognizer_weights(_build(scale_norm=dict(scales=SCALES, base_size=BASE)),
                            str(trained))


def test_a_checkpoint_without_its_config_and_another_number_of_scales_says_so(tiny_run):
    from dld.apis.model_loading import init_model
    bare = tiny_run['student']  # saved without the config's text
    cfg = Config.fromfile(tiny_run['config'])
    cfg.model.scales = list(SCALES[:2])
    with pytest.raises(CheckpointMismatchError,
                       match=rf'trained with {len(SCALES)} scales, the config has 2 '
                             r'\(model.scales\)'):
        init_model(cfg, str(bare))


def test_the_trained_scales_are_read_from_the_saved_config_without_running_it():
    from dld.apis.trained_config import trained_model_setting, trained_scales

    def meta(**model):
        return dict(cfg=Config(dict(model=dict(type='DLDDistiller', **model))).pretty_text)

    assert trained_scales(meta(scales=(1.0, 0.8), selector=dict(type='X'))) == (1.0, 0.8)
    assert trained_scales(meta(scales=[1.0, 0.8], selector=None, fixed_scale=0.6)) == (0.6, )
    # a selector beside a fixed_scale: the selector's scales are read
    assert trained_scales(meta(scales=(1.0, 0.8), selector=dict(type='X'),
                               fixed_scale=0.6)) == (1.0, 0.8)
    assert trained_scales(meta(selector=dict(type='X'))) is None
    assert trained_scales(dict(cfg='model = dict(scales=(1.0, 0.5')) is None  # not Python
    assert trained_scales({}) is None
    assert trained_model_setting(meta(scales=(1.0, )), 'type') == 'DLDDistiller'
    # code in the saved text is parsed, never run
    assert trained_scales(dict(cfg="model = dict(scales=__import__('os').getcwd())")) is None


@pytest.mark.parametrize('wrapped', [False, True])
def test_other_trained_characters_warn_through_dataset_wrappers(wrapped):
    from unittest import mock

    from dld.apis.model_loading import warn_if_other_chars
    plates = dict(type='PairedPlateDataset', ann_file='train.txt')
    dataset = dict(type='ConcatDataset', datasets=[plates]) if wrapped else plates
    cfg = Config(dict(train_dataloader=dict(dataset=dataset)))
    for trained, warned in (('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ', False),
                            ('0123456789abcdefghijklmnopqrstuvwxyz', True)):
        with mock.patch('dld.apis.model_loading.print_log') as log:
            warn_if_other_chars(cfg, dict(dataset_meta=dict(chars=trained)), 'x.pth')
        assert log.called == warned


def test_a_test_loader_without_workers_builds_for_the_reports(tiny_run):
    """The reports build the test loader themselves: a config whose loader
    keeps workers alive, read with num_workers=0, must not fail in PyTorch."""
    from dld.apis.flops_accuracy import CachedTestSet
    from dld.apis.model_loading import load_config
    cfg = load_config(tiny_run['config'], {'test_dataloader.num_workers': 0,
                                           'test_dataloader.persistent_workers': True})
    assert cfg.test_dataloader.persistent_workers is False
    test_set = CachedTestSet(cfg, with_hr=False, max_batches=1)
    assert len(test_set.batches) == 1


@pytest.mark.parametrize('attention', [False, True], ids=['ctc', 'attention'])
def test_a_checkpoint_of_another_dictionary_says_so_not_other_widths(tmp_path, attention):
    """A character added to the dictionary changes the classifier (and an
    attention decoder's embedding) by one row: the error says that, not
    'different widths?'."""
    from attention_dld import attention_recognizer_cfg

    from dld.models.distillers.teacher_checkpoint import load_teacher_weights
    init_default_scope('dld')

    def cfg(chars):
        c = attention_recognizer_cfg(12) if attention else recognizer_cfg(12)
        c['decoder']['dictionary'] = dict(type='Dictionary', chars=chars)
        return c

    path = tmp_path / 'trained.pth'
    torch.save(dict(state_dict=MODELS.build(cfg('ABC0')).state_dict(), meta={}), path)
    says = (r"its decoder was trained with 4 characters, the config's dictionary holds 5: "
            r'use the dictionary it was trained with')
    with pytest.raises(CheckpointMismatchError, match=says):
        load_recognizer_weights(MODELS.build(cfg('ABCD0')), str(path))
    with pytest.raises(RuntimeError, match=says):  # the same as a DLD config's teacher
        load_teacher_weights(MODELS.build(cfg('ABCD0')), str(path))


def test_weights_of_other_characters_of_the_same_number_are_refused(tmp_path):
    """A dict_file made again (one character replaced) keeps every weight's
    shape: the model read 'OT393' as 'NS393' with at most a warning. The
    characters a run saves (meta['decoder_chars']) refuse it wherever the
    weights are loaded."""
    from dld.engine.start_checkpoint import StartCheckpointError, check_start_checkpoint
    from dld.models.dictionary.checkpoint_fit import DECODER_CHARS, decoder_chars
    from dld.models.distillers.teacher_checkpoint import load_teacher_weights
    init_default_scope('dld')

    def model(chars):
        c = recognizer_cfg(12)
        c['decoder']['dictionary'] = dict(type='Dictionary', chars=chars)
        return MODELS.build(c)
    trained = model('ABC0')
    path = tmp_path / 'trained.pth'
    torch.save(dict(state_dict=trained.state_dict(),
                    meta={DECODER_CHARS: decoder_chars(trained)}), path)
    assert decoder_chars(trained) == ['ABC0']
    says = "trained with decoder characters 'ABC0', the config's decoder holds 'ABD0'"
    with pytest.raises(CheckpointMismatchError, match=says):
        load_recognizer_weights(model('ABD0'), str(path))
    with pytest.raises(ValueError, match=says):  # a DLD config's teacher
        load_teacher_weights(model('ABD0'), str(path))
    with pytest.raises(StartCheckpointError, match=f'load_from: .*{says}'):
        check_start_checkpoint(model('ABD0'), str(path), resume=False)
    load_recognizer_weights(model('ABC0'), str(path))  # its own characters load
    # a checkpoint saved before the characters were recorded: not refused
    torch.save(dict(state_dict=trained.state_dict(), meta={}), path)
    load_recognizer_weights(model('ABD0'), str(path))


def test_the_sources_of_a_test_set_through_wrappers():
    """A concatenated test set was named null in the reports' inputs."""
    from dld.apis.model_loading import dataset_sources
    day = dict(type='PairedPlateDataset', data_root='data/day', ann_file='test.txt')
    night = dict(type='LRLPRTrackDataset', data_root='data/night', ann_file='')
    assert dataset_sources(day) == [dict(type='PairedPlateDataset', data_root='data/day',
                                         ann_file='test.txt')]
    both = dict(type='ConcatDataset', datasets=[day, dict(type='RepeatDataset', times=2,
                                                          dataset=night)])
    assert [s['data_root'] for s in dataset_sources(both)] == ['data/day', 'data/night']


def test_a_checkpoint_without_decoder_characters_warns_where_only_the_decoders_changed():
    """Saved before the characters were recorded, a checkpoint read by
    decoders of other characters (the datasets unchanged) said nothing."""
    from log_records import current_log_records

    from dld.apis.model_loading import warn_if_other_chars
    init_default_scope('dld')
    c = recognizer_cfg(12)
    c['decoder']['dictionary'] = dict(type='Dictionary', chars='ABD0')
    model = MODELS.build(c)
    cfg = Config(dict())
    for meta, warned in ((dict(dataset_meta=dict(chars='ABC0')), True),
                         (dict(dataset_meta=dict(chars='ABD0')), False),
                         (dict(dataset_meta=dict(chars='ABC0'), decoder_chars=['ABC0']), False)):
        with current_log_records() as records:
            warn_if_other_chars(cfg, meta, 'old.pth', model)
        said = [r.getMessage() for r in records]
        assert any('records no decoder characters' in m and "'ABD0'" in m
                   for m in said) is warned


@pytest.mark.parametrize('content, says', [
    (dict(state_dict=[1, 2]), 'its state_dict is a list, not the weights by name'),
    (dict(state_dict={}, meta='x'), 'its meta is a str, not a dict'),
    (None, 'is a folder: give a checkpoint file in it'),
])
def test_a_checkpoint_of_another_shape_or_a_folder_is_refused_naming_it(tmp_path, content,
                                                                        says):
    """A state_dict that was a list gave AttributeError 'items' (a traceback
    from infer.py and PlateRecognizer); a folder was 'Checkpoint not found'."""
    path = tmp_path / 'w.pth'
    if content is None:
        path.mkdir()
    else:
        torch.save(content, path)
    with pytest.raises((CheckpointMismatchError, IsADirectoryError)) as info:
        read_state_dict(str(path))
    assert str(info.value).startswith(('Checkpoint ' if content is None else '') + str(path))
    assert says in str(info.value)


def test_a_saved_config_nested_past_the_parser_s_depth_is_no_setting():
    """A crafted checkpoint's meta['cfg'] ended every loading tool with
    'maximum recursion depth exceeded during ast construction'."""
    from dld.apis.trained_config import trained_model_setting, trained_scales
    deep = 'model = dict(scales=' + '[' * 100000 + ']' * 100000 + ')'
    assert trained_model_setting(dict(cfg=deep), 'scales') is None
    assert trained_scales(dict(cfg=deep)) is None
    assert trained_scales(dict(cfg='model = dict(scales=[1.0, 0.5])')) == (1.0, 0.5)


def test_a_checkpoint_under_the_home_folder_is_read_as_training_reads_it(tiny_run, tmp_path,
                                                                        monkeypatch):
    """'~/best.pth' was 'Checkpoint not found' in inference, found by
    load_from and teacher_ckpt (a maintainer's audit)."""
    import shutil

    from dld.apis.model_loading import read_checkpoint
    shutil.copy(tiny_run['student'], tmp_path / 'student.pth')
    monkeypatch.setenv('HOME', str(tmp_path))
    assert 'state_dict' in read_checkpoint('~/student.pth')


def test_a_checkpoint_of_a_project_s_backbone_read_with_another_config_names_both(
        tiny_run, tmp_path):
    """A student with a backbone of one's own, read with the shipped config,
    said only "lacks 72 weight(s) ... e.g. ['student.backbone.stages...']. Is
    it a DLD checkpoint of this config?": not which backbone it was trained
    with, nor the package its config imported (an extender's journey)."""
    from dld.apis.model_loading import init_model
    state, _ = read_state_dict(tiny_run['student'])
    state = {k.replace('student.backbone.stages.', 'student.backbone.blocks.'): v
             for k, v in state.items()}
    trained_cfg = Config.fromfile(tiny_run['config'])
    trained_cfg.model.student.backbone = dict(type='MyBackbone', width=16)
    trained_cfg.custom_imports = dict(imports=['my_project.my_package'])
    trained = tmp_path / 'mine.pth'
    torch.save(dict(state_dict=state, meta=dict(cfg=trained_cfg.pretty_text)), trained)
    with pytest.raises(CheckpointMismatchError,
                       match=r"lacks .* It was trained with its student's backbone MyBackbone "
                             r"\(this config: ResNetPlate\), with custom_imports "
                             r"'my_project.my_package': read it with the config it was "
                             r'trained with'):
        init_model(Config.fromfile(tiny_run['config']), str(trained))
    # a plain recognizer's
    plain = {k[len('student.'):]: v for k, v in state.items() if k.startswith('student.')}
    recognizer_cfg_text = Config(dict(model=dict(recognizer_cfg(TRAINED_WIDTH),
                                                 backbone=dict(type='MyBackbone')))).pretty_text
    torch.save(dict(state_dict=plain, meta=dict(cfg=recognizer_cfg_text)), trained)
    with pytest.raises(CheckpointMismatchError,
                       match=r'It was trained with its backbone MyBackbone \(this config: '
                             r'ResNetPlate\): read it'):
        load_recognizer_weights(_build(scale_norm=dict(scales=SCALES, base_size=BASE)),
                                str(trained))


def test_a_checkpoint_whose_weights_fit_another_part_s_class_is_warned_of(tiny_run, tmp_path):
    """docs/customize.md: a checkpoint read with another config than its own
    is refused, naming the parts. A project's subclass of a shipped part
    (the same weights, another forward) loaded into the shipped class in
    silence: the readings were another model's."""
    from unittest import mock

    from dld.apis.model_loading import init_model
    state, _ = read_state_dict(tiny_run['student'])
    trained_cfg = Config.fromfile(tiny_run['config'])
    trained_cfg.model.student.backbone.type = 'MyBackbone'
    trained_cfg.custom_imports = dict(imports=['my_project.my_package'])
    trained = tmp_path / 'mine.pth'
    torch.save(dict(state_dict=state, meta=dict(cfg=trained_cfg.pretty_text)), trained)
    with mock.patch('dld.apis.model_loading.print_log') as log:
        init_model(Config.fromfile(tiny_run['config']), str(trained))
    said = ' '.join(str(c.args[0]) for c in log.call_args_list)
    assert ("its weights fit this model, but the code reading them is not the code trained. "
            "It was trained with its student's backbone MyBackbone (this config: ResNetPlate), "
            "with custom_imports 'my_project.my_package'") in said
    with mock.patch('dld.apis.model_loading.print_log') as log:  # its own config: no word
        init_model(Config.fromfile(tiny_run['config']), tiny_run['student'])
    assert 'not the code trained' not in ' '.join(str(c.args[0]) for c in log.call_args_list)
