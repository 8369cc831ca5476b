"""Use the HR frame as the student's input (the paper's efficiency setting)."""
from mmcv.transforms import BaseTransform

from dld.registry import TRANSFORMS


@TRANSFORMS.register_module()
class CopyHRToLR(BaseTransform):
    """Set ``img`` to a copy of ``img_hr``.

    In DLD's efficiency setting the student reads the teacher's own HR crop,
    down-sampled by the selected scale inside the model, so the only saving
    is FLOPs, never information. Pair it with
    ``PackPlateInputs(main_stream='lr')`` so that ``inputs`` (student) and
    ``inputs_hr`` (teacher) are both packed.

    Required keys: ``img_hr``. Modified/added keys: ``img``, ``img_shape``,
    ``ori_shape``.
    """

    #: It makes the student's input from the HR frame; at inference the image
    #: given is the HR crop itself, so the inferencer leaves this step out
    #: and reads a paired label file's HR frames.
    inference_input = 'hr'

    def transform(self, results: dict) -> dict:
        if results.get('img_hr') is None:
            raise KeyError('CopyHRToLR needs img_hr; load HR frames first '
                           '(LoadPlateImages(with_hr=True))')
        results['img'] = results['img_hr'].copy()
        results['img_shape'] = results['ori_shape'] = results['img'].shape[:2]
        return results
