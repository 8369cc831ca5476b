"""Every test sample's fields in a pickle, written whole or not at all."""
import pickle
from typing import Optional

from mmengine.evaluator import DumpResults
from mmengine.logging import print_log

from dld.registry import METRICS
from dld.utils.atomic_file import write_file_atomic


@METRICS.register_module()
class DumpReadings(DumpResults):
    """MMEngine's ``DumpResults`` (each sample's fields, tensors on the CPU)
    for ``tools/test.py --dump``, with two differences that matter there:

    * the pickle is written through a temporary file renamed into place: a
      run stopped while writing left half a pickle under the name asked for,
      which a later analysis reads as a whole one (or fails on);
    * it has a prefix (``dump``; it reports no value), so building it logs
      no "prefix is not set" warning beside the metrics;

    and it takes ``.PKL`` as ``.pkl``, as test.py's check does.
    """

    default_prefix: Optional[str] = 'dump'

    def __init__(self, out_file_path: str, collect_device: str = 'cpu',
                 collect_dir: Optional[str] = None) -> None:
        if not str(out_file_path).lower().endswith(('.pkl', '.pickle')):
            raise ValueError(f'DumpReadings writes a pickle: out_file_path {out_file_path!r} '
                             'must end in .pkl or .pickle')
        # the parent's check is case-sensitive; the path is set again after it
        super().__init__('x.pkl', collect_device=collect_device, collect_dir=collect_dir)
        self.out_file_path = str(out_file_path)

    def compute_metrics(self, results: list) -> dict:
        write_file_atomic(self.out_file_path,
                          lambda f: pickle.dump(results, f, protocol=pickle.HIGHEST_PROTOCOL))
        print_log(f'The readings are in {self.out_file_path}.', logger='current')
        return {}
