"""Defaults of `scalpcheck train` that its --help shows, in a module the command line can import without
torch (the command modules import nothing heavy until they run)."""

TRIALS = 12  # Optuna trials per backbone: a head on cached features trains quickly, so tuning costs little
VIEWS = 2  # augmented views per training image of the largest class (more cost extraction, not accuracy)
FINE_TUNE_EPOCHS = 5
BACKBONE = "efficientnet_lite0"  # the one backbone with ImageNet weights that ship offline
