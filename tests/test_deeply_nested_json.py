"""A JSON file nested too deeply for Python's parser (a RecursionError, not
a JSONDecodeError) is refused naming the file, as a malformed one is: it
was a traceback naming no file (a security review)."""
import pytest
from repo_scripts import load_script

DEEP = '[' * 100000 + ']' * 100000


@pytest.fixture
def deep(tmp_path):
    def write(name: str):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(DEEP + '\n')
        return str(path)
    return write


def test_report_comparison_and_reading_analysis_name_the_file(deep):
    from dld.apis.reading_analysis import ReadingsError, load_records
    from dld.apis.report_comparison import ReportComparisonError, read_report
    path = deep('report.json')
    with pytest.raises(ReportComparisonError, match=f'{path}: not valid JSON .nested too deeply'):
        read_report(path)
    path = deep('readings.jsonl')
    with pytest.raises(ReadingsError, match=f'{path}:1: not JSON .nested too deeply'):
        load_records(path)


def test_an_export_manifest_and_a_track_annotation_name_the_file(deep, tmp_path):
    from dld.datasets.errors import PlateAnnotationError
    from dld.datasets.lrlpr_track_dataset import read_plate_text
    from dld.deploy.onnx_reader import MANIFEST, read_manifest
    path = deep(f'export/{MANIFEST}')
    with pytest.raises(ValueError, match=f'{path}: cannot be read as JSON .nested too deeply'):
        read_manifest(str(tmp_path / 'export'))
    path = deep('track/annotations.json')
    with pytest.raises(PlateAnnotationError, match='nested too deeply') as info:
        read_plate_text(path)
    assert path in str(info.value)


def test_infer_resume_names_the_records_file(deep):
    path = deep('out.jsonl')
    with pytest.raises(ValueError, match=f'{path}:1: not a JSON record'):
        load_script('tools/infer.py').earlier_records(path)
