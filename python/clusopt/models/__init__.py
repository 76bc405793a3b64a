"""Independent NumPy float64 reference forwards of the model families
(docs/models.md), written from the model descriptions and not from the
runtime."""
