"""EvalIGMU: score an unlearned text-to-image model against a DataIGM release."""
