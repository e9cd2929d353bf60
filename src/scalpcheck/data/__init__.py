"""The data half: phantom synthesis, the dataset catalog, cleaning, splitting and augmentation."""
