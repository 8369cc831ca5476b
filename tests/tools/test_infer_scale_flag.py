"""tools/infer.py --scale: a scale outside (0, 4] is refused before the model loads."""
import pytest
from repo_scripts import load_script


@pytest.mark.parametrize('scale', ['0', '-1', '4.5', 'nan', 'inf'])
def test_a_scale_outside_its_range_exits_two_naming_the_flag(tmp_path, capsys, scale):
    with pytest.raises(SystemExit) as info:
        load_script('tools/infer.py').main([str(tmp_path / 'no_config.py'),
                                            str(tmp_path / 'no.pth'), 'x.png', '--scale', scale])
    assert info.value.code == 2
    assert f'--scale must be in (0, 4], got {float(scale):g}' in capsys.readouterr().err


@pytest.mark.parametrize('scale', ['4', '0.05'])
def test_a_scale_within_its_range_is_taken(scale):
    args = load_script('tools/infer.py').parse_args(['c.py', 'w.pth', 'x.png', '--scale', scale])
    assert args.scale == float(scale)
