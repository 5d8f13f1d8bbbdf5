"""Optical illusions from one diffusion model: visual anagrams (views) and hybrid images (factorizations)."""
