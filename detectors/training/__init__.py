"""Training judges: cached CLIP features, heads, metrics and the comparison with reference detectors."""
