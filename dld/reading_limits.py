"""How wide a reading's beam search and how large its scale may be. Kept out
of ``dld.apis``, which imports torch: a tool refuses ``--beam-width 5000`` or
``--scale 40`` before any heavy import."""

#: The widest beam (and most texts) a reading may ask for: a beam of W
#: decodes W hypotheses a step; 3000 took 4.7 s and 1.2 GB for one image.
MAX_BEAM_WIDTH = 64

#: The largest scale a reading (or a FLOPs count) may ask for: 4x the
#: teacher's 48x144 input is already 192x576, far past any trained scale.
MAX_SCALE = 4.0


def scale_error(flag: str, scales) -> str:
    """The message for scales outside ``(0, MAX_SCALE]``, or '' if all are in."""
    bad = [s for s in scales if not 0 < s <= MAX_SCALE]
    if not bad:
        return ''
    return f"{flag} must be in (0, {MAX_SCALE:g}], got {' '.join(f'{s:g}' for s in bad)}"
