"""The data server's published request and response models, one module per area."""
