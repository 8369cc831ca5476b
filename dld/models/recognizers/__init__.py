from .text_recognizer import TextRecognizer

__all__ = ['TextRecognizer']
