/* unet: not written yet */
