/* ops_norm: not written yet */
