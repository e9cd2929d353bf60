"""The training half: backbones, cached features, the head, tuning, evaluation and export to a bundle."""
