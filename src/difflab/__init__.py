"""difflab: diffusion and flow-matching models from scratch, and every trick of
Berkeley CS180 project 5 ("The Power of Diffusion Models") on any model."""

__version__ = "0.1.0"
