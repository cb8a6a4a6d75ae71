/* clip: not written yet */
