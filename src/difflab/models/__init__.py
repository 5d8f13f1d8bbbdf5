"""Denoising networks: the course UNet family (`unet`) and adapters for pretrained models."""
