"""Independent NumPy float64 reference forwards of the model families
(MODELS.md), written from the model descriptions and not from the runtime."""
