"""read_config: a config's custom_imports find a package in the directory
the command runs in, as ``python -m`` would, without PYTHONPATH."""
import re
import sys
import textwrap

import pytest
from mmengine.config import Config

from dld.registry import TRANSFORMS
from dld.utils import read_config
from dld.utils.config_file import ConfigFileError


@pytest.fixture
def user_project(tmp_path, monkeypatch):
    """A folder holding a package ``my_plate_project`` and a config that
    imports it; the folder is the working directory and not on sys.path."""
    package = tmp_path / 'my_plate_project'
    package.mkdir()
    (package / '__init__.py').write_text(textwrap.dedent('''
        from dld.registry import TRANSFORMS

        @TRANSFORMS.register_module()
        class MyPlateProjectTransform:
            def __call__(self, results):
                return results
    '''))
    config = tmp_path / 'configs' / 'mine.py'
    config.parent.mkdir()
    config.write_text("custom_imports = dict(imports=['my_plate_project'], "
                      'allow_failed_imports=False)\nx = 1\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, 'path', [p for p in sys.path if p not in ('', str(tmp_path))])
    monkeypatch.delitem(sys.modules, 'my_plate_project', raising=False)
    yield config
    TRANSFORMS.module_dict.pop('MyPlateProjectTransform', None)


def test_custom_imports_find_a_package_in_the_working_directory(user_project):
    with pytest.raises(ImportError):
        Config.fromfile(str(user_project))  # what the tools did before
    cfg = read_config(str(user_project))
    assert cfg.x == 1
    assert TRANSFORMS.get('MyPlateProjectTransform') is not None
    # appended: an installed package of the same name would come first
    assert sys.path[-1] == str(user_project.parent.parent)
    read_config(str(user_project))
    assert sys.path.count(str(user_project.parent.parent)) == 1


def test_a_config_object_imports_its_custom_imports_too(user_project):
    """PlateRecognizer and the report take a Config or a dict as well as a
    path; nothing read it from a file, so load_config imports them."""
    from dld.apis.model_loading import load_config
    cfg = Config.fromfile(str(user_project), import_custom_modules=False)
    assert TRANSFORMS.get('MyPlateProjectTransform') is None
    load_config(cfg)
    assert TRANSFORMS.get('MyPlateProjectTransform') is not None


def test_a_package_not_found_says_where_the_tools_look(user_project, tmp_path, monkeypatch):
    elsewhere = tmp_path / 'elsewhere'
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(ImportError) as info:
        read_config(str(user_project))
    message = str(info.value)
    assert message.startswith(f'{user_project}: its custom_imports failed: ')
    assert "No module named 'my_plate_project'" in message
    assert f'from the working directory ({elsewhere})' in message
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_an_error_inside_the_package_is_not_taken_for_a_missing_one(user_project):
    (user_project.parent.parent / 'my_plate_project' / '__init__.py').write_text(
        'import a_module_that_is_not_there\n')
    with pytest.raises(ImportError, match="No module named 'a_module_that_is_not_there'") as info:
        read_config(str(user_project))
    assert 'working directory' not in str(info.value)  # the package itself was found


def test_a_config_dict_s_missing_package_is_named_too():
    from dld.utils.config_file import import_custom_modules
    with pytest.raises(ImportError, match=r"^config: its custom_imports failed: No module "
                       r"named 'no_such_plate_pkg'\. DLD's tools import"):
        import_custom_modules(dict(custom_imports=dict(imports=['no_such_plate_pkg.sub'])))


def test_a_mistyped_module_of_a_found_package_is_named_as_such(user_project):
    config = user_project
    config.write_text("custom_imports = dict(imports=['my_plate_project.tpyo'], "
                      'allow_failed_imports=False)\n')
    with pytest.raises(ImportError) as info:
        read_config(str(config))
    message = str(info.value)
    assert "No module named 'my_plate_project.tpyo'" in message
    assert "the package my_plate_project was found" in message
    assert "holds no module 'tpyo'" in message and 'working directory' not in message


@pytest.mark.parametrize('broken', ['mine.py', 'base.py', 'bases/deeper.py'])
def test_a_syntax_error_names_the_file_of_the_chain_that_holds_it(tmp_path, broken):
    """MMEngine parsed the files without their names: 'File "<unknown>", line 2'."""
    from dld.utils.config_file import ConfigFileError
    (tmp_path / 'bases').mkdir()
    files = {'mine.py': "_base_ = ['base.py']\nmodel = dict()\n",
             'base.py': "_base_ = 'bases/deeper.py'\nsize = (32, 128)\n",
             'bases/deeper.py': 'depth = 1\nwidths = [1, 2]\n'}
    files[broken] = files[broken].replace('\n', '\nx = (\n', 1)
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ConfigFileError) as info:
        read_config(str(tmp_path / 'mine.py'))
    assert str(info.value).startswith(f"{tmp_path / broken}:2: syntax error: ")


def test_a_variable_a_base_used_already_is_warned_of_naming_what_holds_its_value(tmp_path):
    """``data_root = 'data/mine/'`` under a base that built its loaders from
    its own data_root trained on the base's folder, saying nothing."""
    from unittest import mock
    (tmp_path / 'base.py').write_text(
        "data_root = 'data/synth/'\nepochs = 3\n"
        'train_dataloader = dict(dataset=dict(data_root=data_root))\n'
        'train_cfg = dict(max_epochs=epochs, val_interval=3)\n')
    (tmp_path / 'mine.py').write_text(
        "_base_ = ['base.py']\ndata_root = 'data/mine/'\nepochs = 5\n")
    (tmp_path / 'used.py').write_text(  # the file uses its own value: nothing to say
        "_base_ = ['base.py']\ndata_root = 'data/mine/'\n"
        'train_dataloader = dict(dataset=dict(data_root=data_root))\n')
    with mock.patch('mmengine.logging.print_log') as log:
        read_config(str(tmp_path / 'mine.py'))
        read_config(str(tmp_path / 'used.py'))
    said = [c.args[0] for c in log.call_args_list]
    assert said == [
        f"{tmp_path / 'mine.py'}:2: data_root='data/mine/' does not reach the settings of "
        f"{tmp_path / 'base.py'}, which used its own data_root='data/synth/' when it was read: "
        "train_dataloader.dataset.data_root still hold(s) 'data/synth/'. Set those instead, "
        "e.g. train_dataloader.dataset.data_root='data/mine/'"]
    # a YAML base (and JSON) is passed over, not parsed as Python
    (tmp_path / 'base.yaml').write_text('data_root: data/base/\nitems:\n  - a\n')
    (tmp_path / 'yaml_based.py').write_text("_base_ = ['base.yaml']\ndata_root = 'data/mine/'\n")
    read_config(str(tmp_path / 'yaml_based.py'))


def test_a_tuple_a_dict_or_a_number_many_settings_hold_is_warned_of_too(tmp_path):
    """``input_size = (32, 128)`` and ``dictionary = dict(...)`` (the docs'
    examples) said nothing: a tuple was looked for only under its own name,
    and ``dict(...)`` is no literal; ``max_epochs = 2`` over a base's 1 said
    nothing where 16 unrelated settings held a 1 first."""
    from unittest import mock
    ones = ', '.join(f'w{i}=1' for i in range(20))
    (tmp_path / 'base.py').write_text(
        "input_size = (48, 144)\ndictionary = dict(type='Dictionary')\nmax_epochs = 1\n"
        'ckpt = None\n'  # held by settings of other names, which are not it
        f'model = dict({ones}, base_size=input_size, dictionary=dictionary, init_cfg=None)\n'
        'train_cfg = dict(max_epochs=max_epochs)\n')
    (tmp_path / 'mine.py').write_text(
        "_base_ = ['base.py']\ninput_size = (32, 128)\n"
        "dictionary = dict(type='Dictionary', dict_file='chars.txt')\nmax_epochs = 2\n"
        "ckpt = 'work_dirs/t.pth'\n")
    with mock.patch('mmengine.logging.print_log') as log:
        read_config(str(tmp_path / 'mine.py'))
    said = [c.args[0].split(' does not reach')[0].split(': ', 1)[1] + ' -> '
            + c.args[0].split('Set those instead, e.g. ')[1] for c in log.call_args_list]
    assert said == [
        'input_size=(32, 128) -> model.base_size=(32, 128)',
        "dictionary={'type': 'Dictionary', 'dict_file': 'chars.txt'} -> model.dictionary="
        "{'type': 'Dictionary', 'dict_file': 'chars.txt'}",
        'max_epochs=2 -> train_cfg.max_epochs=2']


def test_a_config_that_is_no_python_file_is_named(tmp_path):
    """MMEngine said 'Only py/yml/yaml/json type are supported now!', naming no file."""
    from dld.utils.config_file import ConfigFileError
    (tmp_path / 'labels.txt').write_text('a.png\tABC\n')
    with pytest.raises(ConfigFileError, match=rf"^{tmp_path / 'labels.txt'}: a config is a "
                                              r'Python file \(\.py'):
        read_config(str(tmp_path / 'labels.txt'))


def test_a_config_that_is_not_there_is_named_with_its_folder_s_close_names(tmp_path):
    """It was MMEngine's FileNotFoundError traceback in every tool."""
    from dld.utils.config_file import ConfigFileError
    (tmp_path / 'dld_plate.py').write_text('a = 1\n')
    (tmp_path / 'other.py').write_text('a = 1\n')
    for path, says in ((tmp_path / 'dld_plat.py', ': no such config file; did you mean '
                        'dld_plate.py?'),
                       (tmp_path / 'far_off.py', ': no such config file'),
                       (tmp_path / 'none' / 'x.py', f": no such config file (no folder "
                        f"{tmp_path / 'none'})"),
                       (tmp_path, ': a folder, not a config file')):
        with pytest.raises(ConfigFileError) as info:
            read_config(str(path))
        assert str(info.value) == f'{path}{says}'


def test_a_variable_a_file_uses_for_some_settings_is_warned_of_for_the_rest(tmp_path):
    """Validation read the file's folder, training still the base's: no word."""
    from unittest import mock
    (tmp_path / 'base.py').write_text(
        "data_root = 'data/synth/'\n"
        'train_dataloader = dict(dataset=dict(data_root=data_root))\n'
        'val_dataloader = dict(dataset=dict(data_root=data_root))\n')
    (tmp_path / 'partly.py').write_text(
        "_base_ = ['base.py']\ndata_root = 'data/mine/'\n"
        'val_dataloader = dict(dataset=dict(data_root=data_root))\n')
    with mock.patch('mmengine.logging.print_log') as log:
        read_config(str(tmp_path / 'partly.py'))
    [said] = [c.args[0] for c in log.call_args_list]
    assert "train_dataloader.dataset.data_root still hold(s) 'data/synth/'" in said


def test_a_syntax_error_beside_a_yaml_base_names_the_python_file(tmp_path):
    """The valid YAML base was parsed as Python and blamed."""
    from dld.utils.config_file import ConfigFileError
    (tmp_path / 'b2.yaml').write_text('data_root: data/base/\n')
    (tmp_path / 'bad.py').write_text('z = (\n')
    (tmp_path / 'mine.py').write_text("_base_ = ['b2.yaml', 'bad.py']\n")
    with pytest.raises(ConfigFileError, match=rf"^{tmp_path / 'bad.py'}:1: syntax error"):
        read_config(str(tmp_path / 'mine.py'))


def test_a_yaml_config_or_base_is_read_as_data_and_never_run(tmp_path):
    """MMEngine read YAML with PyYAML's full loader: a tag in a YAML config,
    or in a YAML _base_ of a Python config, ran its command (a security
    review)."""
    import mmengine

    import dld.engine  # noqa: F401  (registers the safe handler, as the tools do)
    marker = tmp_path / 'ran'
    (tmp_path / 'evil.yaml').write_text(
        f'a: !!python/object/apply:os.system ["touch {marker}"]\n')
    (tmp_path / 'mine.py').write_text("_base_ = ['evil.yaml']\nb = 1\n")
    (tmp_path / 'plain.yml').write_text('model:\n  type: Foo\n  depth: 3\n')
    evil = re.escape(str(tmp_path / 'evil.yaml'))
    with pytest.raises(ConfigFileError, match=evil + r':1: a YAML config is read as plain '
                       'data: could not determine a constructor'):
        read_config(str(tmp_path / 'evil.yaml'))
    # Named as the base that holds the tag, not as the config that lists it
    mine = re.escape(str(tmp_path / 'mine.py'))
    with pytest.raises(ConfigFileError, match=evil + rf':1: a YAML config \(a _base_ of {mine}\) '
                       'is read as plain data: could not determine a constructor'):
        read_config(str(tmp_path / 'mine.py'))
    # a base MMEngine reads only after its substitutions ({{ fileDirname }},
    # unquoted: not YAML as written) is not the one blamed (a review)
    (tmp_path / 'mid.yaml').write_text('c: 1\nwork: {{ fileDirname }}\n')
    (tmp_path / 'both.py').write_text("_base_ = ['mid.yaml', 'evil.yaml']\nb = 1\n")
    with pytest.raises(ConfigFileError, match=evil + r':1: a YAML config \(a _base_ of '):
        read_config(str(tmp_path / 'both.py'))
    import yaml
    with pytest.raises(yaml.constructor.ConstructorError):
        mmengine.load(str(tmp_path / 'evil.yaml'))
    assert not marker.exists()
    assert read_config(str(tmp_path / 'plain.yml')).model == dict(type='Foo', depth=3)


def test_a_config_mmengine_dumped_to_yaml_reads_back(tmp_path):
    """Config.dump writes tuples as !!python/tuple, which the safe loader
    refused: a dumped config could not be read back (a review)."""
    import dld.engine  # noqa: F401  (registers the safe handler, as the tools do)
    Config(dict(model=dict(size=(48, 144), scales=[1.0, 0.5]))).dump(str(tmp_path / 'c.yaml'))
    assert read_config(str(tmp_path / 'c.yaml')).model.size == (48, 144)


def test_two_bases_sharing_a_key_are_told_how_to_chain_from_the_second_s_folder(tmp_path):
    """The advice wrote the first base as the parent file spells it, wrong
    from the second's folder (a review)."""
    from dld.utils.config_file import ConfigFileError, read_config
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'shipped.py').write_text('train_dataloader = dict(batch_size=8)\n')
    (tmp_path / 'sub' / 'data.py').write_text('train_dataloader = dict(batch_size=4)\n')
    (tmp_path / 'mine.py').write_text("_base_ = ['./shipped.py', './sub/data.py']\n")
    with pytest.raises(ConfigFileError) as info:
        read_config(str(tmp_path / 'mine.py'))
    assert str(info.value).startswith(
        f"{tmp_path / 'mine.py'}:1: its _base_ files './shipped.py' and './sub/data.py' both "
        "set train_dataloader, and MMEngine merges no key two bases share; chain them (give "
        "'./sub/data.py' a `_base_ = ['../shipped.py']` of its own and list it alone here)")


@pytest.mark.parametrize('given, dotted', [('my_plate/tiny_backbone', 'my_plate.tiny_backbone'),
                                           ('my_plate/tiny_backbone.py', 'my_plate.tiny_backbone'),
                                           ('my_plate.py', 'my_plate')])
def test_a_module_given_as_a_file_s_path_is_told_to_be_dotted(given, dotted):
    """'my_plate/tiny_backbone' got the generic missing-package message (a
    newcomer's journey)."""
    from dld.utils.config_file import import_custom_modules
    with pytest.raises(ImportError) as info:
        import_custom_modules(dict(custom_imports=dict(imports=[given])))
    assert str(info.value).endswith(f'custom_imports name modules with dots, as an import does: '
                                    f'{dotted!r}, not {given!r}')


def test_a_shipped_config_copied_alone_is_told_to_bring_its_base_folder(tmp_path):
    """An installed dld holds no configs: a team copies one and its _base_
    is not there."""
    import os.path as osp
    import shutil

    from repo_scripts import REPO

    from dld.utils.config_errors import missing_base_error_of
    copied = shutil.copy(osp.join(REPO, 'configs', 'teacher_plate_hr.py'), tmp_path)
    said = str(missing_base_error_of(copied))
    assert said.startswith(f'{copied}:') and "its _base_ '_base_/" in said
    assert said.endswith("a DLD config copied out of DLD's configs/ needs its _base_ folder "
                         'beside it (copy configs/ whole: an installed dld holds no configs), '
                         'or give the flattened config a run wrote to its work dir '
                         '(work_dirs/NAME/NAME.py)')
    (tmp_path / 'mine.py').write_text("_base_ = ['gone.py']\n")  # one's own base: no hint
    assert str(missing_base_error_of(str(tmp_path / 'mine.py'))).endswith(
        'a base is a path relative to the file that lists it')
