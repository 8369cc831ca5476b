"""A mistyped ``type`` names the registered types close to it."""
import pytest
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import Registry

from dld.apis.model_loading import build_model_for_inference
from dld.registry import MODELS, TRANSFORMS
from dld.utils.registry_hints import UnknownTypeError, registry_hints, unknown_type_hint


def _build_error(registry, cfg):
    with pytest.raises(KeyError) as info:
        with registry_hints():
            registry.build(cfg)
    return info.value


def test_a_typo_is_answered_with_the_close_names():
    err = _build_error(MODELS, dict(type='ResNetPlat'))
    assert isinstance(err, UnknownTypeError)
    message = str(err)
    # MMEngine's own message stays, first, and the hint follows on its own line.
    assert message.startswith('ResNetPlat is not in the dld::model registry.')
    assert message.splitlines()[-1] == "Did you mean 'ResNetPlate'?"


def test_case_does_not_hide_a_name():
    assert str(_build_error(MODELS, dict(type='dlddistiller'))).endswith(
        "Did you mean 'DLDDistiller'?")


def test_mmengine_names_the_dld_scope_can_use_are_offered():
    # `Resize` is DLD's; `RandomResize` lives in MMEngine's (or mmcv's) root
    # registry, which `get` falls back to.
    hint = str(_build_error(TRANSFORMS, dict(type='Resize2'))).splitlines()[-1]
    assert hint.startswith('Did you mean ') and "'Resize'" in hint


def test_with_nothing_close_the_scope_s_own_names_are_listed():
    hint = str(_build_error(MODELS, dict(type='Zzzqqx'))).splitlines()[-1]
    assert hint.startswith('No registered name is close; dld::model has: ')
    assert 'DLDDistiller' in hint and 'ResNetPlate' in hint
    # a class of one's own that no custom_imports imported is not a typo
    assert hint.endswith("custom_imports = dict(imports=['my_package.module']) "
                         '(docs/customize.md).')


def test_a_class_in_another_registry_of_the_scope_is_told_where_it_is():
    """A transform given @MODELS.register_module() was told that no name is
    close and to import its module, which was imported (a newcomer's journey)."""
    hint = str(_build_error(TRANSFORMS, dict(type='DLDDistiller'))).splitlines()[-1]
    assert hint == ('DLDDistiller is registered in dld::model, not in dld::transform: the '
                    'config names it where a transform goes, or it is to be registered with '
                    'dld.registry.TRANSFORMS.register_module().')


@pytest.mark.parametrize('original', [
    KeyError('epoch'), TypeError("unsupported operand type(s) for +: 'int' and 'str'")])
def test_other_errors_pass_unchanged(original):
    with pytest.raises(type(original)) as info:
        with registry_hints():
            raise original
    assert info.value is original


def test_the_runner_registry_s_message_form_is_read():
    # build_runner_from_cfg says "X is not in the runner registry." (no scope).
    cfg = dict(runner_type='Runer')
    with pytest.raises(KeyError) as info:
        with registry_hints():
            MMENGINE_RUNNERS.build(cfg)
    assert str(info.value).endswith("Did you mean 'Runner'?")


def test_a_registry_it_cannot_find_gets_no_hint():
    assert unknown_type_hint('Foo is not in the nowhere::nothing registry. Please') is None
    assert unknown_type_hint('some other message') is None


def test_a_registry_of_another_scope_is_found_among_the_root_s_children():
    root = MODELS.parent
    Registry('model', parent=root, scope='hintscope').register_module(
        name='SpecialNet', module=type('SpecialNet', (), {}))
    try:
        assert unknown_type_hint('SpecialNt is not in the hintscope::model registry. '
                                 'Please') == "Did you mean 'SpecialNet'?"
    finally:
        root.children.pop('hintscope')


def test_building_for_inference_names_the_close_type():
    with pytest.raises(UnknownTypeError, match="Did you mean 'DLDDistiller'"):
        build_model_for_inference(dict(type='DLDDistiler', teacher_ckpt='x.pth'))



def test_an_unknown_argument_names_the_close_ones_the_class_takes():
    from dld.utils.registry_hints import UnknownArgumentError
    with pytest.raises(TypeError) as info:
        with registry_hints():
            MODELS.build(dict(type='ResNetPlate', widht=(8, 8, 16, 16)))
    assert isinstance(info.value, UnknownArgumentError)
    assert "got an unexpected keyword argument 'widht'. Did you mean 'widths'?" in \
        str(info.value)
    # the other cause: a type swapped in a child config without _delete_
    assert str(info.value).endswith('unless it also sets _delete_=True.)')
    with pytest.raises(TypeError, match=r'ResNetPlate takes: .*in_channels.*widths'):
        with registry_hints():
            MODELS.build(dict(type='ResNetPlate', zzzqq=1))


def test_delete_in_an_item_of_a_list_is_told_to_be_left_out():
    """The hint said to add `_delete_=True`, the very key the class refused
    (a custom_hooks item; an extending journey)."""
    from dld.registry import HOOKS
    with pytest.raises(TypeError) as info:
        with registry_hints():
            HOOKS.build(dict(type='NonFiniteCheckHook', _delete_=True))
    said = str(info.value)
    assert "unexpected keyword argument '_delete_'" in said
    assert "an item of a list (custom_hooks, a pipeline), which replaces the base's whole, " \
        'or under a key the base does not set. Leave it out there.' in said
    assert 'unless it also sets _delete_=True' not in said


def test_an_argument_passed_on_to_an_unregistered_base_is_still_hinted():
    # PlateRecogMetric hands **kwargs to TextMetric, which is not registered
    from dld.registry import METRICS
    with pytest.raises(TypeError, match=r"argument 'grup_by' \(building PlateRecogMetric, "
                                        r"which passes it on to TextMetric\)\. Did you mean "
                                        r"'group_by'\?"):
        with registry_hints():
            METRICS.build(dict(type='PlateRecogMetric', grup_by='folder'))


def test_an_argument_passed_on_to_a_base_names_the_class_being_built(paired_root):
    # Python names the base ('BaseDataset.__init__() got ...'); the user wrote
    # a PairedPlateDataset, and is offered its arguments only.
    from dld.registry import DATASETS
    with pytest.raises(TypeError, match=r"'frame' \(building PairedPlateDataset, which passes "
                                        r"it on to BaseDataset\)\. Did you mean 'frames'\?"):
        with registry_hints():
            DATASETS.build(dict(type='PairedPlateDataset', data_root=str(paired_root),
                                ann_file='train.txt', frame='first'))


@pytest.mark.parametrize('name,registry,expected', [
    ('OCRDataset', 'DATASETS', 'tools/dataset_converters/ocr_rec_labels.py'),
    ('WordMetric', 'METRICS', "WordMetric's word_acc_ignore_case"),
    ('CharMetric', 'METRICS', 'plate/char_accuracy'),
    ('SARNet', 'MODELS', "DLD's recognizer is TextRecognizer"),
])
def test_mmocr_s_names_are_answered_with_dld_s(name, registry, expected):
    """OCRDataset was answered "Did you mean 'RepeatDataset' or
    'ConcatDataset'?", WordMetric "No registered name is close"."""
    import dld.registry
    hint = str(_build_error(getattr(dld.registry, registry), dict(type=name))).splitlines()[-1]
    assert hint.startswith(f"{name} is MMOCR's") and expected in hint


def test_an_mmocr_default_scope_left_in_a_config_is_named():
    """default_scope='mmocr': MMEngine searched its root registry for DLD's
    TextRecognizer, and the hint said no name was close and to import the
    module with custom_imports."""
    from mmengine.registry import MODELS as MMENGINE_MODELS
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmocr'):
        hint = str(_build_error(MMENGINE_MODELS, dict(type='TextRecognizer'))).splitlines()[-1]
    assert hint == ("TextRecognizer is registered in dld::model, but the default_scope is "
                    "'mmocr' (no package registers the scope 'mmocr': a config of MMOCR's?): "
                    "DLD's configs set default_scope = 'dld'.")


def test_the_arguments_a_subclass_takes_are_said_as_the_subclass_s():
    """A project's decoder subclassing CTCDecoder given a base's key said
    "CTCDecoder takes: ..., hidden, ...": `hidden` is the subclass's own, not
    CTCDecoder's (an extender's journey)."""
    from torch import nn

    from dld.models.decoders import CTCDecoder

    @MODELS.register_module(force=True)
    class MlpHeadCTCDecoder(CTCDecoder):
        def __init__(self, in_channels, hidden=64, **kwargs):
            super().__init__(in_channels, **kwargs)
            self.classifier = nn.Linear(in_channels, hidden)

    try:
        with pytest.raises(TypeError, match=r"argument 'cell' \(building MlpHeadCTCDecoder, "
                                            r'which passes it on to CTCDecoder\)\. '
                                            r'MlpHeadCTCDecoder takes: .*hidden'):
            with registry_hints():
                MODELS.build(dict(type='MlpHeadCTCDecoder', in_channels=8, cell='gru'))
    finally:
        MODELS._module_dict.pop('MlpHeadCTCDecoder', None)
