/* scheduler: not written yet */
