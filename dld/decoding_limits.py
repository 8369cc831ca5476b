"""How wide a reading's beam search may be. Kept out of ``dld.apis``, which
imports torch: a tool refuses ``--beam-width 5000`` before any heavy import."""

#: The widest beam (and most texts) a reading may ask for: a beam of W
#: decodes W hypotheses a step; 3000 took 4.7 s and 1.2 GB for one image.
MAX_BEAM_WIDTH = 64
