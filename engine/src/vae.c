/* vae: not written yet */
