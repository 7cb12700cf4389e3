"""Detectors and judges behind dataigm.core.registry: every module registers its classes by name
(DETECTORS, EMBEDDERS); training/ trains judges."""
