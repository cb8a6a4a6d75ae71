/* rng: not written yet */
