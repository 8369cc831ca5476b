"""A track decoded jointly against its frames' readings voted on.

    python benchmarks/joint_decoding.py CONFIG CKPT DATA_ROOT [--ann-file test.txt]
        [--scale 1.0] [--resamples 2000] [--json OUT]

Voting (:func:`dld.evaluation.metrics.vote_track`) fuses a track's frames
after each was decoded on its own. Joint decoding fuses them while
decoding: at every step the attention decoder scores the next character
from each frame's memory, the frames' distributions are pooled, and the
pooled argmax is fed back to every frame. Pooled three ways: the mean of
the log-probabilities (a product of experts), the mean of the
probabilities (a mixture), and the log-probabilities weighted by each
frame's own reading's confidence. Every frame of the config's test set
(``DATA_ROOT``/``--ann-file``) is read at ``--scale``; printed per fusion:
the track accuracy and its lead over the whole-reading vote, with a 95 %
interval from a bootstrap over tracks. Attention decoders only.
"""
from __future__ import annotations

import argparse
import copy
import functools
import os.path as osp
import sys
from collections import defaultdict
from typing import TYPE_CHECKING, Dict, List, Tuple

import numpy as np
from tabulate import tabulate

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))  # this checkout's dld
from numeric_options import at_least  # noqa: E402
from numeric_options import scale as scale_type  # noqa: E402
from paired_lead import paired_lead  # noqa: E402

from benchmarks.script_exit import Refusal, json_file, run_script  # noqa: E402
from dld.utils.atomic_file import write_json_atomic  # noqa: E402

if TYPE_CHECKING:  # torch is imported as it is used: --help and a usage error at once
    import torch

POOLS = ('logp', 'prob', 'confidence')


def no_grad(fn):
    """``torch.no_grad()``, torch imported as ``fn`` runs: ``--help`` and a
    usage error do not wait seconds for it to load."""
    @functools.wraps(fn)
    def without_grad(*args, **kwargs):
        import torch
        with torch.no_grad():
            return fn(*args, **kwargs)
    return without_grad


@no_grad
def joint_greedy(decoder, memory: torch.Tensor, mask, pool: str,
                 confidences: torch.Tensor) -> str:
    """One text for the frames' memories ``(F, T, D)``, decoded greedily on
    their pooled next-character distributions."""
    import torch
    frames = memory.size(0)
    token = memory.new_full((frames, ), decoder.start_idx, dtype=torch.long)
    state = decoder.cell.init_state(memory, mask)
    prepared = decoder.cell.prepare(memory, mask)
    weights = (confidences + 1e-6) / (confidences + 1e-6).sum()
    chosen: List[int] = []
    for t in range(decoder.max_seq_len):
        logit, _, state = decoder._step(prepared, token, state)
        logp = logit.float().log_softmax(-1)
        if pool == 'logp':
            pooled = logp.mean(0)
        elif pool == 'prob':
            pooled = logp.exp().mean(0)
        else:
            pooled = (logp * weights[:, None]).sum(0)
        char = decoder.end_idx if t == decoder.max_seq_len - 1 else int(pooled.argmax())
        chosen.append(char)
        if char == decoder.end_idx:
            break
        token = torch.full((frames, ), char, dtype=torch.long, device=memory.device)
    (seq, ) = decoder.postprocessor.truncate(torch.tensor([chosen]))
    return decoder.dictionary.idx2str(seq)


def warn_of_untrained_scale(student, base_size, scale: float) -> None:
    """As PlateRecognizer warns of ``--scale``: a scale without BatchNorm
    statistics of its own reads with the nearest trained one's."""
    from dld.models.recognizers.text_recognizer import untrained_scale_warning
    warning = untrained_scale_warning(student, base_size, scale, f'scale {scale:g}')
    if warning:
        print(f'joint_decoding.py: {warning}', file=sys.stderr)


@no_grad
def read_frames(config: str, checkpoint: str, data_root: str, ann_file: str,
                scale: float) -> Tuple[Dict[str, list], torch.nn.Module]:
    """Per track, each frame's ``(frame_idx, memory, mask, text, confidence,
    gt)``; and the decoder."""
    from mmengine.runner import Runner

    from dld.apis.model_loading import init_model
    from dld.models.selectors import resize_to_scale
    model, cfg = init_model(config, checkpoint)
    model.eval()
    student = getattr(model, 'student', model)
    if not hasattr(student.decoder, 'cell'):
        raise Refusal(f'joint_decoding.py: {type(student.decoder).__name__} is not an '
                         'attention decoder')
    loader = copy.deepcopy(cfg.test_dataloader)
    loader.dataset.update(data_root=data_root, ann_file=ann_file)
    loader.update(batch_size=64, num_workers=0, persistent_workers=False)
    tracks: Dict[str, list] = defaultdict(list)
    for batch in Runner.build_dataloader(loader, seed=0):
        data = model.data_preprocessor(batch, False)
        base = getattr(model, 'base_size', None) or tuple(data['inputs'].shape[-2:])
        if not tracks:  # the first batch: the base size is known
            warn_of_untrained_scale(student, base, scale)
        x = resize_to_scale(data['inputs'], scale, base_hw=tuple(base))
        samples = data['data_samples']
        memory = student.encoder(student.extract_feat(x))
        mask = student.memory_mask(memory, student.valid_ratios(samples))
        for i, (s, res) in enumerate(zip(samples, student.decoder.predict(
                memory, 'greedy', memory_mask=mask))):
            tracks[s.track_id].append((s.frame_idx, memory[i], None if mask is None else mask[i],
                                       res['text'], res['score'], s.gt_text))
    return tracks, student.decoder


def fuse(tracks: Dict[str, list], decoder, resamples: int) -> List[dict]:
    import torch

    from dld.evaluation.metrics import vote_track
    ids = sorted(tracks)
    answers: Dict[str, List[str]] = defaultdict(list)
    for track_id in ids:
        frames = sorted(tracks[track_id], key=lambda f: f[0])
        readings = [(f[0], f[3], f[4]) for f in frames]
        answers['vote: text'].append(vote_track(readings))
        answers['vote: chars'].append(vote_track(readings, method='chars'))
        memory = torch.stack([f[1] for f in frames])
        mask = None if frames[0][2] is None else torch.stack([f[2] for f in frames])
        confidences = torch.tensor([f[4] for f in frames], dtype=torch.float32)
        for pool in POOLS:
            answers[f'joint: {pool}'].append(
                joint_greedy(decoder, memory, mask, pool, confidences))
    gts = [tracks[t][0][5] for t in ids]
    right = {name: np.array([a == g for a, g in zip(got, gts)]) for name, got in answers.items()}
    rows = []
    for name, ok in right.items():
        lead = paired_lead(ok, right['vote: text'], np.arange(len(ids)), resamples)
        rows.append(dict(fusion=name, accuracy=lead['dld'], lead=lead['lead'], low=lead['low'],
                         high=lead['high']))
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a config whose (student) decoder is an attention one')
    parser.add_argument('checkpoint',
                        help="the student's trained weights (a DLD or recogniser checkpoint)")
    parser.add_argument('data_root', help="the paired set's folder")
    parser.add_argument('--ann-file', default='test.txt',
                        help='its label file, relative to data_root (default: test.txt)')
    parser.add_argument('--scale', type=scale_type, default=1.0,
                        help='the scale every frame is read at (default: 1.0)')
    parser.add_argument('--resamples', type=at_least(1), default=2000,
                        help='bootstrap resamples over tracks for the intervals')
    parser.add_argument('--json', type=json_file, help='also write the rows and settings here')
    args = parser.parse_args(argv)
    tracks, decoder = read_frames(args.config, args.checkpoint, args.data_root, args.ann_file,
                                  args.scale)
    rows = fuse(tracks, decoder, args.resamples)
    frames = [f for fs in tracks.values() for f in fs]
    per_frame = 100 * np.mean([f[3] == f[5] for f in frames])
    print(f'{len(tracks)} tracks, {len(frames)} frames at scale {args.scale:g}; '
          f'{per_frame:.2f} % of frames read right')
    print(tabulate([[r['fusion'], f"{r['accuracy']:.2f}",
                     '-' if r['fusion'] == 'vote: text' else
                     f"{r['lead']:+.2f} [{r['low']:+.2f}, {r['high']:+.2f}]"] for r in rows],
                   headers=['fusion', 'track acc. (%)', 'vs vote: text (pt, 95% interval)'],
                   tablefmt='github', disable_numparse=True))
    if args.json:
        write_json_atomic(args.json, dict(
            rows=rows, tracks=len(tracks), frames=len(frames), frame_accuracy=per_frame,
            scale=args.scale, config=args.config, checkpoint=args.checkpoint,
            data_root=args.data_root, ann_file=args.ann_file, resamples=args.resamples),
            indent=1)
    return 0


if __name__ == '__main__':
    sys.exit(run_script(main, 'joint_decoding.py'))
