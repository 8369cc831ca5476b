"""Synthetic licence plates: rendered HR crops and their degraded LR frames."""
from .generator import ensure_synth_plates, generate_synth_plates, synth_plates_present
from .plate_text import (
    LAYOUTS,
    label_chars,
    label_pattern,
    resolve_layout,
    sample_plate_text,
    text_matches,
)
from .render import PlateStyle, draw_plate, render_frame, sample_style

__all__ = [
    'generate_synth_plates', 'ensure_synth_plates', 'synth_plates_present', 'LAYOUTS',
    'resolve_layout', 'label_pattern', 'label_chars', 'sample_plate_text', 'text_matches',
    'PlateStyle', 'sample_style', 'draw_plate', 'render_frame'
]
